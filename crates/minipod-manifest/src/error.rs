//! Errors and warnings, each rendered as one line that names the file, the object and the field.

use std::fmt;
use std::path::PathBuf;

/// The kind and name of an object in the input, as error lines show it: `Pod "web"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl ObjectRef {
    pub fn new(kind: &str, name: &str, namespace: &str) -> Self {
        ObjectRef {
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.to_string(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind, self.name)
    }
}

/// apimachinery field/errors.go ErrorType: the word after the field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
}

impl FieldErrorType {
    fn as_str(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "Not found",
            FieldErrorType::Required => "Required value",
            FieldErrorType::Duplicate => "Duplicate value",
            FieldErrorType::Invalid => "Invalid value",
            FieldErrorType::NotSupported => "Unsupported value",
            FieldErrorType::Forbidden => "Forbidden",
            FieldErrorType::TooLong => "Too long",
            FieldErrorType::TooMany => "Too many",
        }
    }
}

/// A rendered bad value, printed the way apimachinery's `ErrorBody` prints Go values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadValue {
    /// Not printed (Required, Forbidden, TooLong).
    None,
    /// A string, printed quoted (`"init"`).
    Str(String),
    /// A number or bool, printed bare.
    Plain(String),
}

impl From<&str> for BadValue {
    fn from(s: &str) -> Self {
        BadValue::Str(s.to_string())
    }
}
impl From<&String> for BadValue {
    fn from(s: &String) -> Self {
        BadValue::Str(s.clone())
    }
}
impl From<String> for BadValue {
    fn from(s: String) -> Self {
        BadValue::Str(s)
    }
}
impl From<i64> for BadValue {
    fn from(v: i64) -> Self {
        BadValue::Plain(v.to_string())
    }
}
impl From<i32> for BadValue {
    fn from(v: i32) -> Self {
        BadValue::Plain(v.to_string())
    }
}
impl From<bool> for BadValue {
    fn from(v: bool) -> Self {
        BadValue::Plain(v.to_string())
    }
}

/// One validation finding on a field, formatted like apimachinery `field.Error`:
/// `spec.initContainers[1].name: Duplicate value: "init"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub kind: FieldErrorType,
    pub field: String,
    pub value: BadValue,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, field, BadValue::None, detail)
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field, BadValue::None, detail)
    }
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<BadValue>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(FieldErrorType::Invalid, field, value.into(), detail)
    }
    pub fn duplicate(field: impl Into<String>, value: impl Into<BadValue>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, value.into(), "")
    }
    pub fn not_found(field: impl Into<String>, value: impl Into<BadValue>) -> Self {
        Self::new(FieldErrorType::NotFound, field, value.into(), "")
    }
    /// field.NotSupported: `supported values: "A", "B"`.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<BadValue>,
        supported: &[&str],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(FieldErrorType::NotSupported, field, value.into(), detail)
    }
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            FieldErrorType::TooLong,
            field,
            BadValue::None,
            format!("may not be more than {max} bytes"),
        )
    }
    pub fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Self {
        Self::new(
            FieldErrorType::TooMany,
            field,
            BadValue::Plain(actual.to_string()),
            format!("must have at most {max} items"),
        )
    }

    pub fn new(
        kind: FieldErrorType,
        field: impl Into<String>,
        value: BadValue,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.kind.as_str())?;
        match &self.value {
            BadValue::None => {}
            // Go's %q; Rust's {:?} agrees for printable text.
            BadValue::Str(s) => write!(f, ": {s:?}")?,
            BadValue::Plain(s) => write!(f, ": {s}")?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A position in an input file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// Everything that makes an input unacceptable. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    // The reason is part of the one line, so it is not also a `source` (a caller printing
    // the error chain would say it twice).
    #[error("{}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// YAML/JSON syntax, or a value of the wrong type for its field.
    #[error("{file}:{}{}{message}", fmt_pos(position), fmt_field(field))]
    Parse {
        file: String,
        position: Option<Position>,
        /// Field path (`spec.containers[0].ports`) when known.
        field: Option<String>,
        message: String,
    },
    /// A document minipod cannot use at all (no kind, wrong apiVersion for a known kind).
    #[error("{file}: {document}: {message}")]
    Document {
        file: String,
        /// `document 2` (1-based), or `document 1 items[3]` inside a List.
        document: String,
        message: String,
    },
    /// A rule from Kubernetes validation (or a minipod limit) is broken by one field.
    #[error("{file}: {object}: {error}")]
    Invalid {
        file: String,
        object: ObjectRef,
        error: Box<FieldError>,
    },
    /// Two objects of the input collide (same kind, namespace and name).
    #[error("{file}: {object}: {message}")]
    Object {
        file: String,
        object: ObjectRef,
        message: String,
    },
}

fn fmt_pos(p: &Option<Position>) -> String {
    match p {
        Some(p) => format!("{}:{}: ", p.line, p.column),
        None => " ".to_string(),
    }
}

fn fmt_field(f: &Option<String>) -> String {
    match f {
        Some(f) if !f.is_empty() => format!("{f}: "),
        _ => String::new(),
    }
}

/// What a warning is about; the message says the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// A field the schema does not know (kubectl's "unknown field").
    UnknownField,
    /// A known field minipod does not honour, harmless to ignore on one host.
    IgnoredField,
    /// An object kind minipod skips (Service, Ingress, ...).
    SkippedObject,
    /// Where minipod deliberately differs from a cluster (documented in docs/manifests.md).
    Deviation,
    /// Something Kubernetes accepts but that will probably not do what was meant.
    Suspicious,
}

/// A finding that does not stop the input from being used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub file: String,
    pub object: Option<ObjectRef>,
    /// Field path, when the warning is about a field.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some(o) = &self.object {
            write!(f, "{o}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}
