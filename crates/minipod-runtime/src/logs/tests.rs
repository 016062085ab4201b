//! Unit tests of `logs.rs` and `logs/read.rs`: line splitting, record format, tails.

use super::*;
use std::time::Duration;

fn split(max: usize, chunks: &[&[u8]]) -> Vec<(String, LogTag)> {
    let mut s = LineSplitter::new(max);
    let mut out = Vec::new();
    let mut emit = |t: &[u8], tag| -> Result<(), ()> {
        out.push((String::from_utf8(t.to_vec()).unwrap(), tag));
        Ok(())
    };
    for c in chunks {
        s.push(c, &mut emit).unwrap();
    }
    s.finish(&mut emit).unwrap();
    out
}

use LogTag::{Full as F, Partial as P};

#[test]
fn splits_lines_across_chunks() {
    assert_eq!(
        split(100, &[b"a\nb", b"c\n", b"\nd"]),
        vec![
            ("a".into(), F),
            ("bc".into(), F),
            ("".into(), F),
            ("d".into(), F)
        ]
    );
}

#[test]
fn empty_input_writes_nothing() {
    assert!(split(10, &[]).is_empty());
    assert!(split(10, &[b""]).is_empty());
}

#[test]
fn overlong_lines_become_partial_records() {
    assert_eq!(
        split(3, &[b"abcdefgh\nxy\n"]),
        vec![
            ("abc".into(), P),
            ("def".into(), P),
            ("gh".into(), F),
            ("xy".into(), F)
        ]
    );
    // The same line arriving byte by byte gives the same records.
    let bytes: Vec<&[u8]> = b"abcdefgh\nxy\n".chunks(1).collect();
    assert_eq!(split(3, &bytes), split(3, &[b"abcdefgh\nxy\n"]));
    // Exactly max bytes is one full record.
    assert_eq!(split(3, &[b"abc\n"]), vec![("abc".into(), F)]);
}

#[test]
fn unterminated_tail_is_written_at_end_of_stream() {
    let mut s = LineSplitter::new(10);
    let mut got = Vec::new();
    let mut emit = |t: &[u8], tag| -> Result<(), ()> {
        got.push((t.to_vec(), tag));
        Ok(())
    };
    s.push(b"partial", &mut emit).unwrap();
    assert!(got.is_empty());
    assert_eq!(s.pending(), b"partial");
    assert_eq!(split(10, &[b"no newline"]), vec![("no newline".into(), F)]);
}

#[test]
fn timestamps_are_rfc3339_nano_utc() {
    assert_eq!(
        format_timestamp(UNIX_EPOCH),
        "1970-01-01T00:00:00.000000000Z"
    );
    let t = UNIX_EPOCH + Duration::new(1_709_210_096, 5); // 2024-02-29T12:34:56
    assert_eq!(format_timestamp(t), "2024-02-29T12:34:56.000000005Z");
    let t = UNIX_EPOCH + Duration::new(951_782_400, 0); // 2000-02-29
    assert_eq!(format_timestamp(t), "2000-02-29T00:00:00.000000000Z");
    let t = UNIX_EPOCH + Duration::new(4_102_444_799, 999_999_999);
    assert_eq!(format_timestamp(t), "2099-12-31T23:59:59.999999999Z");
}

fn fixed_clock() -> SystemTime {
    UNIX_EPOCH + Duration::new(1, 500)
}

#[test]
fn writer_interleaves_streams_in_cri_format() {
    let mut w = CriLogWriter::new(Vec::new(), "mem".into())
        .with_clock(fixed_clock)
        .with_max_line(4);
    w.write_chunk(LogStream::Stdout, b"hello\nwor").unwrap();
    w.write_chunk(LogStream::Stderr, b"oops\n").unwrap();
    w.write_chunk(LogStream::Stdout, b"ld").unwrap();
    let out = String::from_utf8(w.finish().unwrap()).unwrap();
    let ts = "1970-01-01T00:00:01.000000500Z";
    assert_eq!(
            out,
            format!(
                "{ts} stdout P hell\n{ts} stdout F o\n{ts} stderr F oops\n{ts} stdout P worl\n{ts} stdout F d\n"
            )
        );
    let records: Vec<_> = out
        .lines()
        .map(|l| parse_record(l.as_bytes()).unwrap())
        .collect();
    assert_eq!(
        reassemble(&records, LogStream::Stdout),
        vec![b"hello".to_vec(), b"world".to_vec()]
    );
    assert_eq!(
        reassemble(&records, LogStream::Stderr),
        vec![b"oops".to_vec()]
    );
}

#[test]
fn writer_creates_file_and_parents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/web/0.log");
    let mut w = CriLogWriter::create(&path).unwrap();
    w.write_chunk(LogStream::Stdout, b"x\n").unwrap();
    w.finish().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let rec = parse_record(text.trim_end().as_bytes()).unwrap();
    assert_eq!(rec.text, b"x");
    assert_eq!(rec.tag, LogTag::Full);
}

mod rotation;
