//! Label selectors as `kubectl -l` takes them (apimachinery labels.Parse): `a=b`, `a==b`,
//! `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, joined by commas (all must hold).

use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Eq,
    DoubleEq,
    NotEq,
    Not,
    Open,
    Close,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Token>, SelectorError> {
    let mut tokens = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '=' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    tokens.push(Token::DoubleEq);
                } else {
                    tokens.push(Token::Eq);
                }
            }
            '!' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    tokens.push(Token::NotEq);
                } else {
                    tokens.push(Token::Not);
                }
            }
            '<' | '>' => {
                return Err(SelectorError(format!(
                    "operator {c:?} is not supported by minipod"
                )))
            }
            _ => {
                let mut ident = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "(),=!<>".contains(c) {
                        break;
                    }
                    ident.push(c);
                    chars.next();
                }
                tokens.push(Token::Ident(ident));
            }
        }
    }
    Ok(tokens)
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tokens = tokenize(s)?;
        let mut requirements = Vec::new();
        let mut i = 0;
        let err = |what: &str| SelectorError(format!("{what} in selector {s:?}"));
        let next_ident = |i: &mut usize, what: &str| -> Result<String, SelectorError> {
            match tokens.get(*i) {
                Some(Token::Ident(v)) => {
                    *i += 1;
                    Ok(v.clone())
                }
                _ => Err(err(what)),
            }
        };
        while i < tokens.len() {
            if tokens[i] == Token::Not {
                i += 1;
                let key = next_ident(&mut i, "expected a label key after '!'")?;
                check_key(&key)?;
                requirements.push(Requirement::DoesNotExist(key));
            } else {
                let key = next_ident(&mut i, "expected a label key")?;
                check_key(&key)?;
                match tokens.get(i) {
                    None | Some(Token::Comma) => requirements.push(Requirement::Exists(key)),
                    Some(Token::Eq | Token::DoubleEq | Token::NotEq) => {
                        let negate = tokens[i] == Token::NotEq;
                        i += 1;
                        // `a=` selects an empty value.
                        let value = match tokens.get(i) {
                            Some(Token::Ident(v)) => {
                                i += 1;
                                v.clone()
                            }
                            None | Some(Token::Comma) => String::new(),
                            _ => return Err(err("expected a label value")),
                        };
                        check_value(&value)?;
                        requirements.push(if negate {
                            Requirement::NotEquals(key, value)
                        } else {
                            Requirement::Equals(key, value)
                        });
                    }
                    Some(Token::Ident(op)) if op == "in" || op == "notin" => {
                        let negate = op == "notin";
                        i += 1;
                        if tokens.get(i) != Some(&Token::Open) {
                            return Err(err("expected '(' after set operator"));
                        }
                        i += 1;
                        let mut values = Vec::new();
                        loop {
                            match tokens.get(i) {
                                Some(Token::Ident(v)) => {
                                    check_value(v)?;
                                    values.push(v.clone());
                                    i += 1;
                                }
                                Some(Token::Comma) => i += 1,
                                Some(Token::Close) => {
                                    i += 1;
                                    break;
                                }
                                _ => return Err(err("expected ')' to close the set")),
                            }
                        }
                        if values.is_empty() {
                            return Err(err(
                                "for 'in', 'notin' operators, values set can't be empty",
                            ));
                        }
                        requirements.push(if negate {
                            Requirement::NotIn(key, values)
                        } else {
                            Requirement::In(key, values)
                        });
                    }
                    Some(_) => return Err(err("expected an operator after the key")),
                }
            }
            match tokens.get(i) {
                None => {}
                Some(Token::Comma) => {
                    i += 1;
                    if i == tokens.len() {
                        return Err(err("expected a requirement after ','"));
                    }
                }
                Some(_) => return Err(err("expected ',' between requirements")),
            }
        }
        Ok(LabelSelector { requirements })
    }
}

/// Label keys: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters
/// of `[A-Za-z0-9._-]` starting and ending with an alphanumeric (apimachinery IsQualifiedName).
fn check_key(key: &str) -> Result<(), SelectorError> {
    let name = key.rsplit_once('/').map_or(
        key,
        |(prefix, name)| {
            if prefix.is_empty() {
                ""
            } else {
                name
            }
        },
    );
    if !is_label_name(name) {
        return Err(SelectorError(format!(
            "invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), SelectorError> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(SelectorError(format!(
            "invalid label value: {value:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )))
    }
}

fn is_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl LabelSelector {
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sel(s: &str) -> LabelSelector {
        s.parse().unwrap()
    }

    #[test]
    fn every_operator() {
        let web = labels(&[("app", "web"), ("tier", "front")]);
        let db = labels(&[("app", "db")]);
        for (s, want_web, want_db) in [
            ("", true, true),
            ("app=web", true, false),
            ("app==web", true, false),
            ("app!=web", false, true),
            ("tier", true, false),
            ("!tier", false, true),
            ("app in (web, db)", true, true),
            ("app in (db)", false, true),
            ("app notin (web)", false, true),
            ("tier notin (back)", true, true),
            ("app=web,tier=front", true, false),
            ("app, !tier", false, true),
            ("example.com/team!=x", true, true),
        ] {
            assert_eq!(sel(s).matches(Some(&web)), want_web, "{s} on web");
            assert_eq!(sel(s).matches(Some(&db)), want_db, "{s} on db");
        }
        assert!(sel("!app").matches(None));
    }

    #[test]
    fn bad_selectors_are_errors() {
        for bad in [
            "app=web,",
            "=x",
            "app in ()",
            "app in (x",
            "a b",
            "app=-x-",
            "a>1",
            "!",
        ] {
            assert!(bad.parse::<LabelSelector>().is_err(), "{bad}");
        }
    }
}
