use super::*;

#[test]
fn parses_and_rounds() {
    let cases: &[(&str, i64, i64)] = &[
        ("1", 1, 1000),
        ("0", 0, 0),
        ("250m", 1, 250),
        ("0.5", 1, 500),
        ("1.5", 2, 1500),
        ("100Mi", 100 << 20, (100i64 << 20) * 1000),
        ("1Gi", 1 << 30, (1i64 << 30) * 1000),
        ("1Ki", 1024, 1_024_000),
        ("128M", 128_000_000, 128_000_000_000),
        ("1k", 1000, 1_000_000),
        ("1e3", 1000, 1_000_000),
        ("1E3", 1000, 1_000_000),
        ("1e-3", 1, 1),
        ("100n", 1, 1),
        ("1u", 1, 1),
        ("+2", 2, 2000),
        ("-1", -1, -1000),
        (".5", 1, 500),
        ("5.", 5, 5000),
        ("0.1m", 1, 1),
        ("2.5Gi", 2684354560, 2684354560000),
        ("1Ei", 1 << 60, i64::MAX),
        ("1e30", i64::MAX, i64::MAX),
        ("1e-30", 1, 1),
    ];
    for (s, v, m) in cases {
        let q = Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(q.value(), *v, "value of {s}");
        assert_eq!(q.milli_value(), *m, "milli of {s}");
    }
}

#[test]
fn rejects_malformed() {
    for s in [
        "", "abc", "1x", "1KB", "1.2.3", "m", "--1", "1 Gi", " 1", "1e", "1e+", "1Mii", "1e1.5",
        "+", ".", "1e5000", "0x10",
    ] {
        assert!(Quantity::parse(s).is_err(), "{s:?} should fail");
    }
}

#[test]
fn huge_mantissa_does_not_overflow() {
    let q = Quantity::parse(&"9".repeat(80)).unwrap();
    assert_eq!(q.value(), i64::MAX);
    let q = Quantity::parse(&format!("0.{}1", "0".repeat(70))).unwrap();
    assert_eq!(q.value(), 1);
}
