//! Output of the read verbs the way kubectl prints it: tables, `-o json|yaml|name|jsonpath`.

pub mod jsonpath;
pub mod tabwriter;

use std::str::FromStr;

use k8s_openapi::api::core::v1::Pod;
use minipod_pod::kubectl::{print_pod, PodRow, POD_COLUMNS};
use minipod_pod::time::Timestamp;
use serde_json::Value;

pub use self::jsonpath::Template;
pub use self::tabwriter::TabWriter;

/// `-o FORMAT`.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    Table,
    Wide,
    Json,
    Yaml,
    Name,
    JsonPath(Template),
}

#[derive(Debug, thiserror::Error)]
pub enum OutputFormatError {
    // kubectl's message (cli-runtime printers PrintFlags), listing what minipod has.
    #[error("unable to match a printer suitable for the output format {0:?}, allowed formats are: json,jsonpath,name,wide,yaml")]
    Unknown(String),
    #[error("template format specified but no template given")]
    MissingTemplate,
    #[error(transparent)]
    JsonPath(#[from] jsonpath::JsonPathError),
}

impl FromStr for OutputFormat {
    type Err = OutputFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Ok(OutputFormat::Table),
            "wide" => Ok(OutputFormat::Wide),
            "json" => Ok(OutputFormat::Json),
            "yaml" => Ok(OutputFormat::Yaml),
            "name" => Ok(OutputFormat::Name),
            "jsonpath" => Err(OutputFormatError::MissingTemplate),
            _ => match s.split_once('=') {
                Some(("jsonpath", template)) if !template.is_empty() => {
                    Ok(OutputFormat::JsonPath(Template::parse(template)?))
                }
                Some(("jsonpath", _)) => Err(OutputFormatError::MissingTemplate),
                _ => Err(OutputFormatError::Unknown(s.to_owned())),
            },
        }
    }
}

/// Table options besides the format.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    pub wide: bool,
    /// `-A`: a NAMESPACE column first.
    pub with_namespace: bool,
    pub no_headers: bool,
    pub show_labels: bool,
}

/// kubectl's pod table: header once (with the first row), then rows, laid out with a
/// remembering tabwriter so that rows printed later by `-w` stay aligned.
#[derive(Debug)]
pub struct PodTable {
    options: TableOptions,
    writer: TabWriter,
    printed_header: bool,
}

impl PodTable {
    pub fn new(options: TableOptions) -> Self {
        PodTable {
            options,
            writer: TabWriter::for_tables(),
            printed_header: false,
        }
    }

    /// The laid-out text for these pods (nothing at all when there are none: kubectl prints
    /// no header for an empty table).
    pub fn render(&mut self, pods: &[&Pod], now: Timestamp) -> String {
        if pods.is_empty() {
            return String::new();
        }
        if !self.printed_header && !self.options.no_headers {
            let header = self.header();
            self.write_cells(&header);
        }
        self.printed_header = true;
        for pod in pods {
            let cells = self.cells(pod, now);
            self.write_cells(&cells);
        }
        self.writer.flush()
    }

    fn write_cells(&mut self, cells: &[String]) {
        self.writer.write_str(&cells.join("\t"));
        self.writer.write_str("\n");
    }

    fn header(&self) -> Vec<String> {
        let mut cells = Vec::new();
        if self.options.with_namespace {
            cells.push("NAMESPACE".to_owned());
        }
        cells.extend(POD_COLUMNS.iter().map(|c| c.to_string()));
        if self.options.wide {
            cells.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"].map(str::to_owned));
        }
        if self.options.show_labels {
            cells.push("LABELS".to_owned());
        }
        cells
    }

    fn cells(&self, pod: &Pod, now: Timestamp) -> Vec<String> {
        let mut cells = Vec::new();
        if self.options.with_namespace {
            cells.push(
                pod.metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".to_owned()),
            );
        }
        let row: PodRow = print_pod(pod, now);
        cells.extend(row.cells().iter().map(|c| c.to_string()));
        if self.options.wide {
            cells.extend(minipod_pod::kubectl::wide_cells(pod));
        }
        if self.options.show_labels {
            cells.push(labels_cell(pod));
        }
        cells
    }
}

/// `--show-labels`: `k=v,k2=v2` sorted by key, or `<none>`.
fn labels_cell(pod: &Pod) -> String {
    match &pod.metadata.labels {
        Some(labels) if !labels.is_empty() => labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        _ => "<none>".to_owned(),
    }
}

/// A Pod as kubectl sees it: a generic JSON object, so keys come out sorted (Go marshals
/// unstructured maps in key order) with `apiVersion`/`kind` set.
pub fn pod_value(pod: &Pod) -> Value {
    serde_json::to_value(pod).unwrap_or(Value::Null)
}

/// What `-o json|yaml|jsonpath` print for several pods: a `v1` `List`.
pub fn list_value(pods: &[&Pod]) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "items": pods.iter().map(|p| pod_value(p)).collect::<Vec<_>>(),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    })
}

/// kubectl's `-o json`: 4-space indentation, a newline at the end.
pub fn to_json(value: &Value) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    // Serialising a `Value` into memory cannot fail.
    let _ = serde::Serialize::serialize(value, &mut ser);
    let mut text = String::from_utf8(buf).unwrap_or_default();
    text.push('\n');
    text
}

/// kubectl's `-o yaml`: block style, list items not indented under their key.
pub fn to_yaml(value: &Value) -> anyhow::Result<String> {
    let mut text = serde_saphyr::to_string(value)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A reader that closed our stdout (`minipod logs p | head`) is not a failure: Go's kubectl
/// dies quietly of SIGPIPE there, and Rust (which ignores SIGPIPE) gets EPIPE instead.
pub fn ignore_broken_pipe(
    result: anyhow::Result<std::process::ExitCode>,
) -> anyhow::Result<std::process::ExitCode> {
    match result {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(std::process::ExitCode::SUCCESS)
        }
        other => other,
    }
}

/// `-o name`.
pub fn pod_name_line(pod: &Pod) -> String {
    format!("pod/{}\n", pod.metadata.name.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_formats_parse_like_kubectl() {
        assert_eq!("wide".parse::<OutputFormat>().unwrap(), OutputFormat::Wide);
        assert!(matches!(
            "jsonpath={.metadata.name}".parse::<OutputFormat>(),
            Ok(OutputFormat::JsonPath(_))
        ));
        let err = "xml".parse::<OutputFormat>().unwrap_err().to_string();
        assert!(err.starts_with("unable to match a printer suitable for the output format \"xml\""));
        assert!("jsonpath=".parse::<OutputFormat>().is_err());
    }

    #[test]
    fn json_is_sorted_and_indented_by_four() {
        let v = serde_json::json!({"kind": "List", "apiVersion": "v1"});
        assert_eq!(
            to_json(&v),
            "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\"\n}\n"
        );
    }

    #[test]
    fn yaml_lists_are_not_indented_under_their_key() {
        let v = serde_json::json!({"items": [{"a": 1}], "kind": "List"});
        assert_eq!(to_yaml(&v).unwrap(), "items:\n- a: 1\nkind: List\n");
    }
}
