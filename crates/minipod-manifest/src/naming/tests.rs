use super::*;

#[test]
fn suffix_shape_and_determinism() {
    let a = suffix(1, &["Deployment", "default", "web", "0"]);
    assert_eq!(a.len(), 5);
    assert!(a.bytes().all(|c| ALPHANUMS.contains(&c)));
    assert_eq!(a, suffix(1, &["Deployment", "default", "web", "0"]));
    assert_ne!(a, suffix(2, &["Deployment", "default", "web", "0"]));
    assert_ne!(a, suffix(1, &["Deployment", "default", "web", "1"]));
    // Part boundaries matter.
    assert_ne!(suffix(1, &["ab", "c"]), suffix(1, &["a", "bc"]));
}

#[test]
fn template_hash_shape() {
    let h = template_hash(b"{}");
    assert_eq!(h.len(), 10);
    assert!(h.bytes().all(|c| ALPHANUMS.contains(&c)));
    assert_ne!(h, template_hash(b"{\"a\":1}"));
}

#[test]
fn uid_is_uuid_v4_shaped() {
    let u = uid(7, &["Pod", "default", "web"]);
    assert_eq!(u.len(), 36);
    let parts: Vec<&str> = u.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'));
    assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    assert_ne!(u, uid(8, &["Pod", "default", "web"]));
}
