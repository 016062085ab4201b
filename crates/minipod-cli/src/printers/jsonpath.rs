//! kubectl's `-o jsonpath=TEMPLATE`: the subset of client-go `util/jsonpath` that people put in
//! scripts.
//!
//! Not an RFC 9535 JSONPath crate on purpose: kubectl's flavour is a *text template* (literal
//! text, `{expr}` actions, `{range ...}{end}`, `{"\n"}`) whose output rules are its own
//! (several results of one action joined by a space, strings raw, maps and lists as compact
//! JSON, missing keys print nothing). The expression part is small, so it lives here.
//!
//! Supported: `.a.b`, `['a.b']`, `[0]`, `[-1]`, `[1:3]`, `[*]`, `.*`, `..name`, unions
//! `[0,2]` / `['a','b']`, filters `[?(@.a.b=="x")]` with `== != < > <= >=` and existence
//! `[?(@.a)]`, `@`/`$`, `{range EXPR}...{end}`, quoted text `{"\n"}`.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum JsonPathError {
    #[error("error parsing jsonpath {template}, {message}")]
    Parse { template: String, message: String },
    #[error("error executing jsonpath {template:?}: Error executing template: {message}")]
    Execute { template: String, message: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Expr(Path),
    Range(Path, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Path {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Wildcard,
    Recursive,
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// `[0,2]` or `['a','b']`: each alternative is a path from the current value.
    Union(Vec<Path>),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Path,
    op: Option<(CmpOp, Operand)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(Value),
    Path(Path),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    nodes: Vec<Node>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, JsonPathError> {
        let err = |message: String| JsonPathError::Parse {
            template: source.to_owned(),
            message,
        };
        let mut stack: Vec<(Option<Path>, Vec<Node>)> = vec![(None, Vec::new())];
        let mut rest = source;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                push(&mut stack, Node::Text(rest.to_owned()));
                break;
            };
            if open > 0 {
                push(&mut stack, Node::Text(rest[..open].to_owned()));
            }
            let inner_start = open + 1;
            let close = find_action_end(&rest[inner_start..])
                .ok_or_else(|| err("unclosed action".to_owned()))?;
            let action = rest[inner_start..inner_start + close].trim();
            rest = &rest[inner_start + close + 1..];
            if action == "end" {
                if stack.len() < 2 {
                    return Err(err("not in range, nothing to end".to_owned()));
                }
                // Invariant: checked just above that a range frame is open.
                let (path, body) = stack.pop().expect("range frame");
                push(&mut stack, Node::Range(path.unwrap_or_default(), body));
            } else if let Some(expr) = action.strip_prefix("range") {
                if !expr.starts_with(|c: char| c.is_whitespace()) {
                    return Err(err(format!("unrecognized identifier {action}")));
                }
                let path = parse_path(expr.trim()).map_err(err)?;
                stack.push((Some(path), Vec::new()));
            } else if action.starts_with('"') || action.starts_with('\'') {
                let text = unquote(action).map_err(err)?;
                push(&mut stack, Node::Text(text));
            } else {
                let path = parse_path(action).map_err(err)?;
                push(&mut stack, Node::Expr(path));
            }
        }
        if stack.len() != 1 {
            return Err(err("unclosed range, missing {end}".to_owned()));
        }
        let nodes = stack.pop().map(|(_, n)| n).unwrap_or_default();
        Ok(Template {
            source: source.to_owned(),
            nodes,
        })
    }

    /// Renders the template against `data` (a Pod or a List as JSON).
    pub fn render(&self, data: &Value) -> Result<String, JsonPathError> {
        let mut out = String::new();
        render_nodes(&self.nodes, data, &mut out).map_err(|message| JsonPathError::Execute {
            template: self.source.clone(),
            message,
        })?;
        Ok(out)
    }
}

fn push(stack: &mut [(Option<Path>, Vec<Node>)], node: Node) {
    if let Some((_, nodes)) = stack.last_mut() {
        nodes.push(node);
    }
}

/// The `}` that closes an action, skipping quoted strings (`{"}"}`).
fn find_action_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '}' => return Some(i),
                _ => {}
            },
        }
    }
    None
}

/// Go's strconv.Unquote for the escapes people use (`\n`, `\t`, `\"`, `\\`).
fn unquote(s: &str) -> Result<String, String> {
    let quote = s.chars().next().ok_or("empty string")?;
    let inner = s
        .strip_prefix(quote)
        .and_then(|r| r.strip_suffix(quote))
        .ok_or_else(|| format!("unterminated string {s}"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => return Err(format!("invalid escape in {s}")),
        }
    }
    Ok(out)
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn eat(&mut self, prefix: &str) -> bool {
        if self.s[self.pos..].starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
}

fn parse_path(s: &str) -> Result<Path, String> {
    let mut lx = Lexer { s, pos: 0 };
    let path = parse_steps(&mut lx, false)?;
    lx.skip_ws();
    if lx.pos != s.len() {
        return Err(format!("unrecognized character in action: {}", lx.rest()));
    }
    Ok(path)
}

/// Steps until the end of input or (inside a filter) a comparison operator or `)`.
fn parse_steps(lx: &mut Lexer, in_filter: bool) -> Result<Path, String> {
    let mut steps = Vec::new();
    lx.skip_ws();
    // `@` and `$` name the current object; both start a path.
    let _ = lx.eat("@") || lx.eat("$");
    loop {
        match lx.peek() {
            None => break,
            Some('.') => {
                lx.bump();
                if lx.eat(".") {
                    steps.push(Step::Recursive);
                }
                if lx.eat("*") {
                    steps.push(Step::Wildcard);
                    continue;
                }
                if lx.peek() == Some('[') {
                    continue;
                }
                let name = parse_field_name(lx);
                if name.is_empty() {
                    // A lone `.` is the current object (kubectl accepts `{.}`).
                    if !steps.is_empty() && steps.last() != Some(&Step::Recursive) {
                        return Err("missing field name after '.'".to_owned());
                    }
                    continue;
                }
                steps.push(Step::Field(name));
            }
            Some('[') => {
                lx.bump();
                steps.push(parse_bracket(lx)?);
            }
            Some(c) if in_filter && (c.is_whitespace() || "=!<>)".contains(c)) => break,
            Some(c) if c.is_whitespace() => break,
            Some(c) => return Err(format!("unrecognized character in action: {c}")),
        }
    }
    Ok(Path { steps })
}

fn parse_field_name(lx: &mut Lexer) -> String {
    let mut name = String::new();
    while let Some(c) = lx.peek() {
        if c == '\\' && lx.rest().starts_with("\\.") {
            lx.pos += 2;
            name.push('.');
        } else if c.is_alphanumeric() || c == '_' || c == '-' || c == '/' {
            lx.bump();
            name.push(c);
        } else {
            break;
        }
    }
    name
}

fn parse_bracket(lx: &mut Lexer) -> Result<Step, String> {
    let close = find_bracket_end(lx.rest()).ok_or("unterminated array")?;
    let inner = &lx.rest()[..close];
    lx.pos += close + 1;
    let inner = inner.trim();
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return parse_filter(filter).map(Step::Filter);
    }
    let parts = split_top_level(inner, ',');
    if parts.len() == 1 {
        let part = parts[0].trim();
        if part.starts_with('\'') || part.starts_with('"') {
            return Ok(Step::Field(unquote(part)?));
        }
        return parse_slice(part);
    }
    let mut alternatives = Vec::new();
    for part in parts {
        let part = part.trim();
        let step = if part.starts_with('\'') || part.starts_with('"') {
            Step::Field(unquote(part)?)
        } else {
            parse_slice(part)?
        };
        alternatives.push(Path { steps: vec![step] });
    }
    Ok(Step::Union(alternatives))
}

fn find_bracket_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' | '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => return Some(i),
                ']' => depth -= 1,
                _ => {}
            },
        }
    }
    None
}

fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            None => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_slice(part: &str) -> Result<Step, String> {
    let num = |s: &str| -> Result<Option<i64>, String> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse()
                .map(Some)
                .map_err(|_| format!("invalid array index {s}"))
        }
    };
    let pieces: Vec<&str> = part.split(':').collect();
    match pieces.as_slice() {
        [one] => {
            let i = num(one)?.ok_or("empty array index")?;
            // A single index is the slice [i, i+1), with i+1 "derived" (Go's jsonpath
            // turns [-1] into the last element).
            Ok(Step::Slice {
                start: Some(i),
                end: Some(if i == -1 {
                    0
                } else {
                    i.checked_add(1)
                        .ok_or_else(|| format!("invalid array index {part}"))?
                }),
                step: None,
            })
        }
        [a, b] => Ok(Step::Slice {
            start: num(a)?,
            end: num(b)?,
            step: None,
        }),
        [a, b, c] => Ok(Step::Slice {
            start: num(a)?,
            end: num(b)?,
            step: num(c)?,
        }),
        _ => Err(format!("invalid array index {part}")),
    }
}

fn parse_filter(s: &str) -> Result<Filter, String> {
    let mut lx = Lexer { s, pos: 0 };
    let left = parse_steps(&mut lx, true)?;
    lx.skip_ws();
    if lx.pos == s.len() {
        return Ok(Filter { left, op: None });
    }
    let op = if lx.eat("==") {
        CmpOp::Eq
    } else if lx.eat("!=") {
        CmpOp::Ne
    } else if lx.eat("<=") {
        CmpOp::Le
    } else if lx.eat(">=") {
        CmpOp::Ge
    } else if lx.eat("<") {
        CmpOp::Lt
    } else if lx.eat(">") {
        CmpOp::Gt
    } else {
        return Err(format!("unrecognized filter operator in {s}"));
    };
    lx.skip_ws();
    let rest = lx.rest().trim();
    let right = if rest.starts_with('\'') || rest.starts_with('"') {
        Operand::Literal(Value::String(unquote(rest)?))
    } else if rest.starts_with('@') || rest.starts_with('$') || rest.starts_with('.') {
        Operand::Path(parse_path(rest)?)
    } else if rest == "true" || rest == "false" {
        Operand::Literal(Value::Bool(rest == "true"))
    } else {
        let n: serde_json::Number = rest
            .parse()
            .map_err(|_| format!("invalid filter value {rest}"))?;
        Operand::Literal(Value::Number(n))
    };
    Ok(Filter {
        left,
        op: Some((op, right)),
    })
}

fn render_nodes(nodes: &[Node], data: &Value, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Expr(path) => {
                let results = eval(path, data)?;
                for (i, v) in results.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    write_value(v, out);
                }
            }
            Node::Range(path, body) => {
                for item in eval(path, data)? {
                    render_nodes(body, item, out)?;
                }
            }
        }
    }
    Ok(())
}

/// client-go PrintResults: maps and lists as compact JSON, scalars as Go's fmt prints them.
fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Array(_) | Value::Object(_) => out.push_str(&v.to_string()),
    }
}

fn eval<'a>(path: &Path, data: &'a Value) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![data];
    for step in &path.steps {
        current = apply(step, current)?;
    }
    Ok(current)
}

fn apply<'a>(step: &Step, input: Vec<&'a Value>) -> Result<Vec<&'a Value>, String> {
    let mut out = Vec::new();
    for value in input {
        match step {
            // A missing key prints nothing: kubectl's --allow-missing-template-keys=true.
            Step::Field(name) => {
                if let Some(v) = value.as_object().and_then(|m| m.get(name)) {
                    out.push(v);
                }
            }
            Step::Wildcard => match value {
                Value::Object(m) => out.extend(m.values()),
                Value::Array(a) => out.extend(a.iter()),
                _ => {}
            },
            Step::Recursive => collect_recursive(value, &mut out),
            Step::Slice { start, end, step } => {
                let Value::Array(items) = value else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(format!("{} is not array or slice", type_name(value)));
                };
                out.extend(slice(items, *start, *end, *step)?);
            }
            Step::Union(alternatives) => {
                for alt in alternatives {
                    out.extend(eval(alt, value)?);
                }
            }
            Step::Filter(filter) => {
                let Value::Array(items) = value else {
                    return Err(format!(
                        "{} is not array or slice and cannot be filtered",
                        type_name(value)
                    ));
                };
                for item in items {
                    if filter_matches(filter, item)? {
                        out.push(item);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn collect_recursive<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    let children: Vec<&Value> = match value {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return,
    };
    if children.is_empty() {
        return;
    }
    out.push(value);
    for child in children {
        collect_recursive(child, out);
    }
}

/// client-go evalArray: negative indexes count from the end, out of range is an error.
fn slice(
    items: &[Value],
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Result<Vec<&Value>, String> {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let mut s = start.unwrap_or(0);
    if s < 0 {
        s = s.saturating_add(len);
    }
    let mut e = end.unwrap_or(len);
    if e < 0 || (e == 0 && start == Some(-1)) {
        e = e.saturating_add(len);
    }
    if s == e {
        return Ok(Vec::new());
    }
    if s >= len || s < 0 {
        return Err(format!(
            "array index out of bounds: index {s}, length {len}"
        ));
    }
    if e > len || e < 0 {
        return Err(format!(
            "array index out of bounds: index {}, length {len}",
            e.saturating_sub(1)
        ));
    }
    if s > e {
        return Err(format!(
            "starting index {s} is greater than ending index {e}"
        ));
    }
    let step = step.unwrap_or(1);
    if step <= 0 {
        return Err("step must be > 0".to_owned());
    }
    // Bounds checked above: 0 <= s <= e <= len.
    let (s, e, step) = (s as usize, e as usize, step as usize);
    Ok(items[s..e].iter().step_by(step).collect())
}

fn filter_matches(filter: &Filter, item: &Value) -> Result<bool, String> {
    let lefts = eval(&filter.left, item)?;
    let Some((op, right)) = &filter.op else {
        return Ok(!lefts.is_empty());
    };
    let left = match lefts.as_slice() {
        [] => return Ok(false),
        [one] => *one,
        _ => return Err("can only compare one element at a time".to_owned()),
    };
    let rights = match right {
        Operand::Literal(v) => vec![v],
        Operand::Path(p) => eval(p, item)?,
    };
    let right = match rights.as_slice() {
        [] => return Ok(false),
        [one] => *one,
        _ => return Err("can only compare one element at a time".to_owned()),
    };
    let ordering = compare(left, right);
    Ok(match op {
        CmpOp::Eq => ordering == Some(Ordering::Equal),
        CmpOp::Ne => ordering != Some(Ordering::Equal),
        CmpOp::Lt => ordering == Some(Ordering::Less),
        CmpOp::Gt => ordering == Some(Ordering::Greater),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    })
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (x, y) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, v: &Value) -> String {
        Template::parse(t).unwrap().render(v).unwrap()
    }

    fn list() -> Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
             "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]}},
            {"metadata": {"name": "b"}, "status": {"phase": "Pending", "conditions": [
                {"type": "Ready", "status": "False"}]}}
        ]})
    }

    #[test]
    fn fields_wildcards_and_text() {
        let l = list();
        assert_eq!(render("{.items[*].metadata.name}", &l), "a b");
        assert_eq!(render("names: {.items[0].metadata.name}!", &l), "names: a!");
        assert_eq!(render("{.items[-1].status.phase}", &l), "Pending");
        assert_eq!(render("{$.kind}", &l), "List");
        assert_eq!(
            render("{.items[0].metadata.labels['app.kubernetes.io/name']}", &l),
            "x"
        );
        assert_eq!(
            render("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", &l),
            "x"
        );
        assert_eq!(
            render("{.items[0].metadata.labels}", &l),
            r#"{"app.kubernetes.io/name":"x"}"#
        );
        assert_eq!(render("{.nope.deeper}", &l), "");
    }

    #[test]
    fn range_and_quoted_text() {
        let l = list();
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}"#,
                &l
            ),
            "a\tRunning\nb\tPending\n"
        );
    }

    #[test]
    fn filters() {
        let l = list();
        assert_eq!(
            render(
                r#"{.items[*].status.conditions[?(@.type=="Ready")].status}"#,
                &l
            ),
            "True False"
        );
        assert_eq!(
            render("{.items[?(@.status.phase!='Running')].metadata.name}", &l),
            "b"
        );
        assert_eq!(render("{.items[0:2].metadata.name}", &l), "a b");
        assert_eq!(render("{..phase}", &l), "Running Pending");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("{.items").is_err());
        assert!(Template::parse("{range .items[*]}x").is_err());
        assert!(Template::parse("{end}").is_err());
        let t = Template::parse("{.items[5]}").unwrap();
        let err = t.render(&list()).unwrap_err().to_string();
        assert!(
            err.contains("array index out of bounds: index 5, length 2"),
            "{err}"
        );
    }

    #[test]
    fn extreme_indexes_are_errors_not_overflows() {
        for t in [
            "{.items[9223372036854775807]}",
            "{.items[0:-9223372036854775808]}",
        ] {
            assert!(Template::parse(t).map_or(true, |t| t.render(&list()).is_err()));
        }
    }
}
