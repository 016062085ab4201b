//! Unit tests of log rotation (the policy, rotating, compressing and pruning files) and of
//! reading a rotated log back (tails across blocks and files).

use super::*;
use std::time::Duration;

static TICK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
fn ticking_clock() -> SystemTime {
    let n = TICK.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    UNIX_EPOCH + Duration::new(1_700_000_000, 0) + Duration::from_micros(n)
}

fn read_all(files: &[PathBuf]) -> Vec<u8> {
    let mut all = Vec::new();
    for f in files {
        open_reader(f).unwrap().read_to_end(&mut all).unwrap();
    }
    all
}

#[test]
fn policy_parses_quantities_and_refuses_bad_values() {
    assert_eq!(
        RotationPolicy::parse(None, None),
        Ok(RotationPolicy::default())
    );
    let p = RotationPolicy::parse(Some("500Ki"), Some("3")).unwrap();
    assert_eq!((p.max_size, p.max_files), (500 * 1024, 3));
    assert_eq!(parse_quantity("10Mi"), Some(10 << 20));
    assert_eq!(parse_quantity("2M"), Some(2_000_000));
    assert_eq!(parse_quantity("123"), Some(123));
    assert_eq!(parse_quantity("99999999999999Ti"), None);
    let e = RotationPolicy::parse(Some("10MB"), None).unwrap_err();
    assert!(e.contains(MAX_SIZE_ENV) && e.contains("10MB"), "{e}");
    assert!(RotationPolicy::parse(Some("0"), None).is_err());
    let e = RotationPolicy::parse(None, Some("1")).unwrap_err();
    assert!(e.contains(MAX_FILES_ENV), "{e}");
}

#[test]
fn rotation_keeps_max_files_compresses_older_and_loses_no_record_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/app/0.log");
    let mut w = CriLogWriter::create(&path)
        .unwrap()
        .with_clock(ticking_clock)
        .with_rotation(RotationPolicy {
            max_size: 1000,
            max_files: 3,
        });
    for i in 0..200 {
        w.write(LogStream::Stdout, format!("line {i:04}\n").as_bytes())
            .unwrap();
    }
    w.finish().unwrap();
    let files = log_files(&path).unwrap();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".gz"), "{files:?}");
    assert!(!files[1].to_string_lossy().ends_with(".gz"), "{files:?}");
    assert_eq!(files[2], path);
    let mut total = 0;
    for f in &files {
        let m = std::fs::metadata(f).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600, "{f:?}");
        total += m.len();
    }
    assert!(total < 3 * 1100, "{total}");
    use std::os::unix::fs::PermissionsExt;
    let dmode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dmode & 0o777, 0o700);
    // The files, oldest first, hold the newest lines in order, ending with the last one.
    let text = String::from_utf8(read_all(&files)).unwrap();
    let nums: Vec<u32> = text
        .lines()
        .map(|l| parse_record(l.as_bytes()).unwrap())
        .map(|r| String::from_utf8(r.text).unwrap()[5..].parse().unwrap())
        .collect();
    assert_eq!(*nums.last().unwrap(), 199);
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    assert!(nums.len() > 30, "{}", nums.len());
}

#[test]
fn one_large_write_is_split_across_rotations() {
    // A supervisor that fell behind hands the writer a whole pipe's worth at once: the
    // files must still stay near max_size, not hold the whole read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    let mut w = CriLogWriter::create(&path)
        .unwrap()
        .with_clock(ticking_clock)
        .with_rotation(RotationPolicy {
            max_size: 4096,
            max_files: 5,
        });
    let data: String = (0..3000).map(|i| format!("line-{i}\n")).collect();
    w.write(LogStream::Stdout, data.as_bytes()).unwrap();
    w.finish().unwrap();
    let files = log_files(&path).unwrap();
    assert_eq!(files.len(), 5, "{files:?}");
    for f in files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "gz"))
    {
        let len = std::fs::metadata(f).unwrap().len();
        // One record (~50 bytes here) past the limit at most.
        assert!(len < 4096 + 100, "{f:?}: {len}");
    }
    let text = String::from_utf8(read_all(&files)).unwrap();
    let last = parse_record(text.lines().last().unwrap().as_bytes()).unwrap();
    assert_eq!(last.text, b"line-2999");
}

fn write_file(path: &Path, content: &[u8]) {
    std::fs::write(path, content).unwrap();
}

fn tail_text(files: &[PathBuf], n: usize) -> Vec<String> {
    let bytes = tail_log(files, n).unwrap();
    let records: Vec<LogRecord> = bytes
        .split(|b| *b == b'\n')
        .filter_map(parse_record)
        .collect();
    let mut lines = reassemble(&records, LogStream::Stdout);
    lines.extend(reassemble(&records, LogStream::Stderr));
    lines
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .collect()
}

#[test]
fn tail_reads_backwards_across_blocks_and_files() {
    let dir = tempfile::tempdir().unwrap();
    // Lines long enough that records straddle the 64 KiB block boundaries.
    let mut old = Vec::new();
    for i in 0..2000 {
        old.extend_from_slice(
            format!(
                "2024-01-01T00:00:00.000000000Z stdout F old{i} {}\n",
                "x".repeat(97)
            )
            .as_bytes(),
        );
    }
    let rotated = dir.path().join("0.log.20240101-000000.000000000");
    write_file(&rotated, &old);
    compress(&rotated).unwrap();
    let current = dir.path().join("0.log");
    write_file(
            &current,
            b"2024-01-01T00:00:01.000000000Z stdout F new0\n2024-01-01T00:00:01.000000000Z stdout F new1\n",
        );
    let files = log_files(&current).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(tail_text(&files, 1), vec!["new1"]);
    let got = tail_text(&files, 4);
    assert_eq!(got.len(), 4);
    assert!(
        got[0].starts_with("old1998 ") && got[1].starts_with("old1999 "),
        "{got:?}"
    );
    assert_eq!(&got[2..], ["new0", "new1"]);
    // More than there is: everything, in order.
    let all = tail_text(&files, 100_000);
    assert_eq!(all.len(), 2002);
    assert!(all[0].starts_with("old0 "));
    assert!(all[1500].starts_with("old1500 "));
    assert!(tail_text(&files, 0).is_empty());
}

#[test]
fn tail_keeps_partial_records_with_their_line_and_reads_an_unterminated_end() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("0.log");
    write_file(
        &current,
        concat!(
            "t1 stdout F first\n",
            "t2 stdout P sec\n",
            "t3 stderr F err\n",
            "t4 stdout P on\n",
            "t5 stdout F d\n",
            "t6 stderr P unfin\n",
            "t7 stdout F last"
        )
        .as_bytes(),
    );
    let files = vec![current];
    // The last two lines: stdout "second" (whose pieces straddle an stderr line) and
    // "last" (no trailing newline); stderr's unfinished piece counts as a line too.
    let bytes = tail_log(&files, 3).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "t2 stdout P sec\nt4 stdout P on\nt5 stdout F d\nt6 stderr P unfin\nt7 stdout F last\n"
    );
    let bytes = tail_log(&files, 1).unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), "t7 stdout F last\n");
    let bytes = tail_log(&files, 2).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "t6 stderr P unfin\nt7 stdout F last\n"
    );
}

#[test]
fn rotated_files_are_ordered_and_ignore_temporaries_and_other_attempts() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "1.log",
        "1.log.20240101-000002.000000000",
        "1.log.20240101-000001.000000000.gz",
        "1.log.20240101-000000.000000000.gz.tmp",
        "11.log.20240101-000000.000000000",
        "0.log.20240101-000000.000000000",
    ] {
        write_file(&dir.path().join(name), b"");
    }
    let names: Vec<String> = log_files(&dir.path().join("1.log"))
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "1.log.20240101-000001.000000000.gz",
            "1.log.20240101-000002.000000000",
            "1.log"
        ]
    );
}
