use super::*;

fn env() -> Vec<(String, String)> {
    [
        ("VAR_A", "A"),
        ("VAR_B", "B"),
        ("VAR_C", "C"),
        ("VAR_REF", "$(VAR_A)"),
        ("VAR_EMPTY", ""),
        ("DOLLAR", "$"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

// Cases in the spirit of expand_test.go TestMapReference/TestExpand.
#[test]
fn expansion_table() {
    let cases: &[(&str, &str)] = &[
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
        ("$(VAR_REF)", "$(VAR_A)"),
        ("$(VAR_EMPTY)", ""),
        ("x$(VAR_EMPTY)y", "xy"),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("$()", "$()"),
        ("$$(VAR_A)", "$(VAR_A)"),
        ("$$$(VAR_A)", "$A"),
        ("$$$$(VAR_A)", "$$(VAR_A)"),
        ("$$", "$"),
        ("$$$", "$$"),
        ("$", "$"),
        ("x$", "x$"),
        ("$VAR_A", "$VAR_A"),
        ("${VAR_A}", "${VAR_A}"),
        ("$(VAR_A", "$(VAR_A"),
        ("$(VAR_A $(VAR_B)", "$(VAR_A $(VAR_B)"),
        ("$(VAR_B $(VAR_A)", "$(VAR_B $(VAR_A)"),
        ("$($(VAR_A))", "$($(VAR_A))"),
        ("$(DOLLAR)", "$"),
        ("$(DOLLAR)(VAR_A)", "$(VAR_A)"),
        ("plain", "plain"),
        ("", ""),
        ("$é", "$é"),
        ("é$(VAR_A)é", "éAé"),
        ("$(VAR_A)$", "A$"),
        ("$(VAR_A))", "A)"),
        ("(VAR_A)", "(VAR_A)"),
        ("$ (VAR_A)", "$ (VAR_A)"),
        ("$$(UNKNOWN", "$(UNKNOWN"),
        ("$(", "$("),
        ("$(()", "$(()"),
    ];
    let e = env();
    for (input, want) in cases {
        assert_eq!(expand_with(input, &e), *want, "input {input:?}");
    }
}

#[test]
fn unclosed_reference_then_valid_one() {
    // `$(` is copied, scanning resumes after `(`; the `)` of the valid reference closes
    // the first `$(` because the scan for `)` happens from the first opener.
    assert_eq!(expand_with("$(a $(VAR_A)", &env()), "$(a $(VAR_A)");
    assert_eq!(expand_with("a $( b", &env()), "a $( b");
}

#[test]
fn later_pairs_win() {
    let e = vec![
        ("X".to_string(), "1".to_string()),
        ("X".to_string(), "2".to_string()),
    ];
    assert_eq!(expand_with("$(X)", &e), "2");
}
