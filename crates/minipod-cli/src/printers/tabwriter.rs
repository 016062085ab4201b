//! Go's `text/tabwriter` column layout, as kubectl uses it.
//!
//! kubectl aligns every table (`get`) and every `describe` page with a tabwriter: cells end at
//! `\t`, the text after a line's last tab is not part of any column, and a column is aligned
//! only across a *block* of consecutive lines that all have a cell in it. Matching kubectl
//! byte for byte therefore needs Go's algorithm (text/tabwriter `Writer.format`), not a simple
//! "widest cell per column" table: e.g. in `describe`, `QoS Class:` lines up with the volume
//! lines right above it because they form one block.
//!
//! `get -w` uses `github.com/liggitt/tabwriter` with `RememberWidths`: a column never narrows
//! between flushes, so rows printed later stay aligned with the header printed first.

/// One formatting configuration (Go's `Writer.Init(minwidth, tabwidth, padding, ' ', flags)`,
/// always padding with spaces).
#[derive(Debug, Clone)]
pub struct TabWriter {
    min_width: usize,
    padding: usize,
    /// `Some` with `RememberWidths`: widest width seen per column index.
    remembered: Option<Vec<usize>>,
    buf: String,
}

impl TabWriter {
    /// cli-runtime printers.GetNewTabWriter: minwidth 6, padding 3, RememberWidths.
    pub fn for_tables() -> Self {
        TabWriter {
            min_width: 6,
            padding: 3,
            remembered: Some(Vec::new()),
            buf: String::new(),
        }
    }

    /// describe.go tabbedString: minwidth 0, padding 2.
    pub fn for_describe() -> Self {
        TabWriter {
            min_width: 0,
            padding: 2,
            remembered: None,
            buf: String::new(),
        }
    }

    pub fn write_str(&mut self, text: &str) {
        self.buf.push_str(text);
    }

    /// Lays out everything written since the last flush. A last line without its newline is
    /// laid out too (Go's Flush does the same).
    pub fn flush(&mut self) -> String {
        let text = std::mem::take(&mut self.buf);
        let mut lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
        // `split` yields one empty piece after a final newline: that is no line.
        let ends_with_newline = text.ends_with('\n');
        if ends_with_newline || text.is_empty() {
            lines.pop();
        }
        let mut out = String::with_capacity(text.len() + 64);
        let mut widths = Vec::new();
        self.format(&lines, 0, lines.len(), &mut widths, &mut out);
        if !ends_with_newline && out.ends_with('\n') {
            out.pop();
        }
        out
    }

    /// Go text/tabwriter `format`: for the lines `[line0, line1)`, find the blocks of lines
    /// that have a terminated cell in the next column, size that column per block, recurse.
    fn format(
        &mut self,
        lines: &[Vec<&str>],
        mut line0: usize,
        line1: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            // A block starts here: print the lines before it with the current widths.
            write_lines(lines, line0, this, widths, out);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(text_width(lines[this][column]) + self.padding);
                this += 1;
            }
            if let Some(remembered) = &mut self.remembered {
                if remembered.len() <= column {
                    remembered.resize(column + 1, 0);
                }
                width = width.max(remembered[column]);
                remembered[column] = width;
            }
            widths.push(width);
            self.format(lines, line0, this, widths, out);
            widths.pop();
            line0 = this;
        }
        write_lines(lines, line0, line1, widths, out);
    }
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() {
                if let Some(&w) = widths.get(j) {
                    let pad = w.saturating_sub(text_width(cell));
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        out.push('\n');
    }
}

/// Go's tabwriter counts UTF-8 runes.
fn text_width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_header_and_row() {
        let mut w = TabWriter::for_tables();
        w.write_str("NAME\tREADY\tSTATUS\tRESTARTS\tAGE\n");
        w.write_str("nginx\t1/1\tRunning\t0\t5s\n");
        assert_eq!(
            w.flush(),
            "NAME    READY   STATUS    RESTARTS   AGE\n\
             nginx   1/1     Running   0          5s\n"
        );
    }

    #[test]
    fn remembered_widths_keep_later_rows_aligned_and_only_grow() {
        let mut w = TabWriter::for_tables();
        w.write_str("NAME\tSTATUS\tAGE\n");
        w.write_str("a\tPending\t0s\n");
        let first = w.flush();
        w.write_str("a\tOK\t1s\n");
        let second = w.flush();
        assert_eq!(first, "NAME   STATUS    AGE\na      Pending   0s\n");
        assert_eq!(second, "a      OK        1s\n");
        w.write_str("longer-name\tOK\t1s\n");
        assert_eq!(w.flush(), "longer-name   OK        1s\n");
    }

    #[test]
    fn blocks_end_at_lines_without_tabs() {
        let mut w = TabWriter::for_describe();
        w.write_str(
            "Name:\tweb\nNamespace:\tdefault\nIPs:\n  IP:\t10.0.0.1\nQoS Class:\tBestEffort\n",
        );
        assert_eq!(
            w.flush(),
            "Name:       web\nNamespace:  default\nIPs:\n  IP:       10.0.0.1\nQoS Class:  BestEffort\n"
        );
    }

    #[test]
    fn nested_columns_are_sized_per_sub_block() {
        let mut w = TabWriter::for_describe();
        w.write_str("  Type\tReason\tAge\n  ----\t------\t---\n  Normal\tStarted\t5s\n");
        assert_eq!(
            w.flush(),
            "  Type    Reason   Age\n  ----    ------   ---\n  Normal  Started  5s\n"
        );
    }
}
