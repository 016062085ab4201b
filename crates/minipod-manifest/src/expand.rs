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
mod tests;
