//! `$(VAR)` expansion as kubernetes third_party/forked/golang/expansion/expand.go does it:
//! `$(NAME)` becomes the mapped value; an unknown name stays `$(NAME)`; `$$` becomes `$`;
//! an unclosed `$(` and a `$` before any other character stay literal. No shell, no recursion.

/// Expands `input`, asking `lookup` for each `$(NAME)`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    // expand.go Expand: scan for the operator, then tryReadVariableName on what follows it.
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let Some(next) = after.chars().next() else {
            // A trailing `$` is copied as is.
            out.push('$');
            rest = after;
            break;
        };
        match next {
            '$' => {
                // Escaped operator.
                out.push('$');
                rest = &after[1..];
            }
            '(' => match after[1..].find(')') {
                Some(close) => {
                    let name = &after[1..1 + close];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[1 + close + 1..];
                }
                None => {
                    // Incomplete reference: `$(` is copied and scanning resumes after it.
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            c => {
                // Not an expression: the operator and the character after it are copied.
                // (Go copies one byte here; Rust copies the whole character.)
                out.push('$');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Expansion against `(name, value)` pairs, the later pair of a name winning.
pub fn expand_with(input: &str, env: &[(String, String)]) -> String {
    expand(input, |name| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

#[cfg(test)]
mod tests {
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
}
