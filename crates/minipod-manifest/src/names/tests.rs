use super::*;

#[test]
fn dns_labels() {
    for (s, ok) in [
        ("a", true),
        ("my-name", true),
        ("123-abc", true),
        ("0", true),
        ("-a", false),
        ("a-", false),
        ("A", false),
        ("a_b", false),
        ("a.b", false),
        ("", false),
        (&"a".repeat(63), true),
        (&"a".repeat(64), false),
    ] {
        assert_eq!(dns1123_label(s).is_empty(), ok, "{s:?}");
    }
    assert_eq!(dns1123_label("a.b"), vec!["must not contain dots"]);
}

#[test]
fn dns_subdomains() {
    for (s, ok) in [
        ("example.com", true),
        ("a", true),
        ("a..b", false),
        (".a", false),
        ("a.", false),
        ("A.b", false),
        ("web-0.web", true),
        (&"a".repeat(253), true),
        (&"a".repeat(254), false),
    ] {
        assert_eq!(dns1123_subdomain(s).is_empty(), ok, "{s:?}");
    }
}

#[test]
fn qualified_names_and_label_values() {
    for (s, ok) in [
        ("app", true),
        ("app.kubernetes.io/name", true),
        ("A_b.c-D", true),
        ("/x", false),
        ("a/", false),
        ("a/b/c", false),
        ("-x", false),
        ("Example.COM/x", false),
        (&"a".repeat(64), false),
    ] {
        assert_eq!(qualified_name(s).is_empty(), ok, "{s:?}");
    }
    for (s, ok) in [("", true), ("v1.2", true), ("-x", false), ("a b", false)] {
        assert_eq!(label_value(s).is_empty(), ok, "{s:?}");
    }
}

#[test]
fn env_names_keys_ports() {
    for (s, ok) in [
        ("A", true),
        ("my.env-name", true),
        ("1X", true),
        ("a=b", false),
        ("", false),
        ("é", false),
        ("a b", true),
    ] {
        assert_eq!(env_var_name(s).is_empty(), ok, "{s:?}");
    }
    for (s, ok) in [
        ("key.name", true),
        ("KEY_NAME", true),
        (".", false),
        ("..", false),
        ("..a", false),
        ("a/b", false),
        ("", false),
    ] {
        assert_eq!(config_map_key(s).is_empty(), ok, "{s:?}");
    }
    for (s, ok) in [
        ("http", true),
        ("h2c", true),
        ("8080", false),
        ("-a", false),
        ("a--b", false),
        ("HTTP", false),
        ("abcdefghijklmnop", false),
    ] {
        assert_eq!(port_name(s).is_empty(), ok, "{s:?}");
    }
}
