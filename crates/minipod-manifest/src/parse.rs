//! YAML/JSON documents → typed k8s-openapi objects.
//!
//! Two passes over each input. Pass 1 reads only `apiVersion`, `kind` and `metadata.name` of
//! every document. Pass 2 deserializes each document into its k8s-openapi type through ONE
//! generic path (`serde_ignored` for unknown fields, `serde_path_to_error` for the field path
//! of a type error), so k8s-openapi's large deserializers are instantiated once. Dispatch is
//! typed: no `serde_json::Value` round trip, which would lose locations and turn `"NO"` into a
//! boolean.

use std::cell::RefCell;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use serde::de::{Deserialize, Deserializer, IgnoredAny};

use crate::error::{ManifestError, ObjectRef, Position, Warning, WarningKind};

/// One object read from the input.
#[derive(Debug, Clone)]
pub enum Object {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    ReplicaSet(Box<ReplicaSet>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    Job(Box<Job>),
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Pod(_) => "Pod",
            Object::Deployment(_) => "Deployment",
            Object::ReplicaSet(_) => "ReplicaSet",
            Object::StatefulSet(_) => "StatefulSet",
            Object::DaemonSet(_) => "DaemonSet",
            Object::Job(_) => "Job",
            Object::ConfigMap(_) => "ConfigMap",
            Object::Secret(_) => "Secret",
        }
    }

    pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Object::Pod(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::ReplicaSet(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
        }
    }

    pub fn metadata_mut(
        &mut self,
    ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Object::Pod(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::ReplicaSet(o) => &mut o.metadata,
            Object::StatefulSet(o) => &mut o.metadata,
            Object::DaemonSet(o) => &mut o.metadata,
            Object::Job(o) => &mut o.metadata,
            Object::ConfigMap(o) => &mut o.metadata,
            Object::Secret(o) => &mut o.metadata,
        }
    }

    /// `Kind "name"` for messages (the name as written; generateName shows as `name-`).
    pub fn object_ref(&self) -> ObjectRef {
        let m = self.metadata();
        let name = match (&m.name, &m.generate_name) {
            (Some(n), _) if !n.is_empty() => n.clone(),
            (_, Some(g)) => g.clone(),
            _ => String::new(),
        };
        ObjectRef::new(self.kind(), &name, m.namespace.as_deref().unwrap_or(""))
    }
}

/// A parsed input file: its objects in order, and what was noticed on the way.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub objects: Vec<Object>,
    pub warnings: Vec<Warning>,
}

/// Which type each document deserializes into (decided by pass 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocKind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    ConfigMap,
    Secret,
    /// Skipped (warned, or rejected in pass 1).
    Skip,
    /// `v1` `List` (what `kubectl get -o yaml` prints): items dispatched one by one; the
    /// index points into `Pass2::lists`.
    List(usize),
}

/// (apiVersion, kind) → type; the only versions a v1.35 API server serves for these kinds.
const KINDS: &[(&str, &str, DocKind)] = &[
    ("v1", "Pod", DocKind::Pod),
    ("apps/v1", "Deployment", DocKind::Deployment),
    ("apps/v1", "ReplicaSet", DocKind::ReplicaSet),
    ("apps/v1", "StatefulSet", DocKind::StatefulSet),
    ("apps/v1", "DaemonSet", DocKind::DaemonSet),
    ("batch/v1", "Job", DocKind::Job),
    ("v1", "ConfigMap", DocKind::ConfigMap),
    ("v1", "Secret", DocKind::Secret),
];

#[derive(serde::Deserialize)]
struct TypeMeta {
    #[serde(rename = "apiVersion", default)]
    api_version: Lenient,
    #[serde(default)]
    kind: Lenient,
    #[serde(default)]
    metadata: LenientMeta,
    #[serde(default)]
    items: LenientItems,
}

/// The type meta of each item of a `List` (non-mapping items have none).
#[derive(Default)]
struct LenientItems(Vec<ItemMeta>);

#[derive(Default)]
struct ItemMeta {
    api_version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
}

impl<'de> Deserialize<'de> for LenientItems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LenientItems;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<LenientItems, A::Error> {
                let mut out = Vec::new();
                while let Some(m) = a.next_element::<ItemMetaDe>()? {
                    out.push(m.0);
                }
                Ok(LenientItems(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<LenientItems, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientItems::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_unit<E>(self) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_none<E>(self) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<LenientItems, E> {
                Ok(LenientItems::default())
            }
        }
        d.deserialize_any(V)
    }
}

struct ItemMetaDe(ItemMeta);

impl<'de> Deserialize<'de> for ItemMetaDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ItemMetaDe;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ItemMetaDe, A::Error> {
                let mut m = ItemMeta::default();
                while let Some(k) = a.next_key::<Lenient>()? {
                    match k.0.as_deref() {
                        Some("apiVersion") => m.api_version = a.next_value::<Lenient>()?.0,
                        Some("kind") => m.kind = a.next_value::<Lenient>()?.0,
                        Some("metadata") => m.name = a.next_value::<LenientMeta>()?.name,
                        _ => {
                            a.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(ItemMetaDe(m))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ItemMetaDe, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_str<E>(self, _: &str) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_unit<E>(self) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_none<E>(self) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<ItemMetaDe, E> {
                Ok(ItemMetaDe(ItemMeta::default()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string if the value is one, else nothing: pass 1 must not fail on a badly typed field
/// (pass 2 reports it with its path).
#[derive(Default)]
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_i128<E>(self, _: i128) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_u128<E>(self, _: u128) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Lenient, D2::Error> {
                Lenient::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Lenient, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Lenient, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `metadata.name` if metadata is a mapping with a string name.
#[derive(Default)]
struct LenientMeta {
    name: Option<String>,
}

impl<'de> Deserialize<'de> for LenientMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LenientMeta;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<LenientMeta, A::Error> {
                let mut name = None;
                while let Some(k) = a.next_key::<Lenient>()? {
                    let v: Lenient = a.next_value()?;
                    if k.0.as_deref() == Some("name") {
                        name = v.0;
                    }
                }
                Ok(LenientMeta { name })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<LenientMeta, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientMeta::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_unit<E>(self) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_none<E>(self) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<LenientMeta, E> {
                Ok(LenientMeta::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// State shared with `TypedDoc::deserialize` during pass 2 (serde offers no seed for
/// multi-document reads, so the per-document kind list is passed through a thread-local).
struct Pass2 {
    kinds: Vec<DocKind>,
    /// Item kinds of each `List` document.
    lists: Vec<Vec<DocKind>>,
    next: usize,
    /// Objects deserialized so far (each typed object gets the next slot).
    slots: usize,
    /// (object slot, field path) of fields the types ignored.
    ignored: Vec<(usize, String)>,
    /// Field path of the type error that ended pass 2, if any.
    error_path: Option<String>,
}

thread_local! {
    static PASS2: RefCell<Option<Pass2>> = const { RefCell::new(None) };
}

/// The objects of one document (one, none when skipped, or the items of a List).
struct TypedDoc(Vec<Object>);

impl<'de> Deserialize<'de> for TypedDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kind = PASS2.with(|p| {
            let mut p = p.borrow_mut();
            match p.as_mut() {
                Some(p) => {
                    let i = p.next;
                    p.next += 1;
                    p.kinds.get(i).copied().unwrap_or(DocKind::Skip)
                }
                None => DocKind::Skip,
            }
        });
        if let DocKind::List(l) = kind {
            let items = PASS2.with(|p| {
                p.borrow()
                    .as_ref()
                    .and_then(|p| p.lists.get(l).cloned())
                    .unwrap_or_default()
            });
            return d.deserialize_map(ListVisitor(items)).map(TypedDoc);
        }
        Ok(TypedDoc(typed(kind, d)?.into_iter().collect()))
    }
}

/// Deserializes one object of a known kind (or skips it).
fn typed<'de, D: Deserializer<'de>>(kind: DocKind, d: D) -> Result<Option<Object>, D::Error> {
    Ok(Some(match kind {
        DocKind::Pod => Object::Pod(Box::new(tracked(d)?)),
        DocKind::Deployment => Object::Deployment(Box::new(tracked(d)?)),
        DocKind::ReplicaSet => Object::ReplicaSet(Box::new(tracked(d)?)),
        DocKind::StatefulSet => Object::StatefulSet(Box::new(tracked(d)?)),
        DocKind::DaemonSet => Object::DaemonSet(Box::new(tracked(d)?)),
        DocKind::Job => Object::Job(Box::new(tracked(d)?)),
        DocKind::ConfigMap => Object::ConfigMap(Box::new(tracked(d)?)),
        DocKind::Secret => Object::Secret(Box::new(tracked(d)?)),
        DocKind::Skip | DocKind::List(_) => {
            IgnoredAny::deserialize(d)?;
            return Ok(None);
        }
    }))
}

/// A `List` document: `items` dispatched by the kinds pass 1 found; other keys skipped.
/// The item deserializers are the parser's own deserializer type, so `typed`/`tracked`
/// are not instantiated a second time.
struct ListVisitor(Vec<DocKind>);

impl<'de> serde::de::Visitor<'de> for ListVisitor {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a List")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Vec<Object>, A::Error> {
        let mut out = Vec::new();
        let mut kinds = Some(self.0);
        while let Some(k) = a.next_key::<Lenient>()? {
            match (k.0.as_deref(), kinds.take()) {
                (Some("items"), Some(kinds)) => out = a.next_value_seed(ItemsSeed(kinds))?,
                (_, k) => {
                    kinds = k;
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

struct ItemsSeed(Vec<DocKind>);

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed {
    type Value = Vec<Object>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Vec<Object>, A::Error> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let kind = self.0.get(i).copied().unwrap_or(DocKind::Skip);
            match a.next_element_seed(ItemSeed(kind))? {
                Some(Some(o)) => out.push(o),
                Some(None) => {}
                None => break,
            }
            i += 1;
        }
        Ok(out)
    }
}

struct ItemSeed(DocKind);

impl<'de> serde::de::DeserializeSeed<'de> for ItemSeed {
    type Value = Option<Object>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Object>, D::Error> {
        typed(self.0, d)
    }
}

/// The one deserialization path: unknown fields and error paths recorded in `PASS2`.
fn tracked<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let mut ignored = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let result = {
        let mut record = recorder(&mut ignored);
        let d = serde_ignored::Deserializer::new(d, &mut record);
        T::deserialize(serde_path_to_error::Deserializer::new(d, &mut track))
    };
    PASS2.with(|p| {
        if let Some(p) = p.borrow_mut().as_mut() {
            let slot = p.slots;
            p.slots += 1;
            p.ignored.extend(ignored.into_iter().map(|s| (slot, s)));
            if result.is_err() {
                p.error_path = Some(track.path().to_string());
            }
        }
    });
    result
}

/// Not a closure inside `tracked`: that closure's type would depend on `T` and so would every
/// nested deserializer, instantiating k8s-openapi's code once per top-level kind.
fn recorder(out: &mut Vec<String>) -> impl FnMut(serde_ignored::Path<'_>) + '_ {
    move |p| out.push(format_ignored(&p))
}

/// `spec.containers[0].imagee` (serde_ignored prints `spec.containers.0.imagee`).
fn format_ignored(p: &serde_ignored::Path<'_>) -> String {
    let mut segs: Vec<String> = Vec::new();
    let mut cur = p;
    loop {
        match cur {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                segs.push(format!("[{index}]"));
                cur = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                segs.push(format!(".{key}"));
                cur = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => cur = parent,
        }
    }
    let s: String = segs.into_iter().rev().collect();
    s.strip_prefix('.').map(str::to_string).unwrap_or(s)
}

fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.with_snippet = false;
    // Kubernetes reads YAML 1.1 numbers: `defaultMode: 0644` is octal (420).
    o.legacy_octal_numbers = true;
    // Manifests are small: a tighter node budget keeps alias bombs cheap (the default
    // 250k nodes takes seconds in debug builds).
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 100_000;
    budget.max_events = 400_000;
    o.budget = Some(budget);
    o
}

fn saphyr_error(file: &str, field: Option<String>, e: &serde_saphyr::Error) -> ManifestError {
    use serde_saphyr::MessageFormatter;
    let inner = e.without_snippet();
    let msg = serde_saphyr::DefaultMessageFormatter.format_message(inner);
    // One line: the formatter may break lines in long messages.
    let message = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    let position = e.location().and_then(|l| {
        (l.line() > 0).then(|| Position {
            line: l.line(),
            column: l.column(),
        })
    });
    ManifestError::Parse {
        file: file.to_string(),
        position,
        field: field.filter(|f| !f.is_empty() && f != "?"),
        message,
    }
}

/// JSON may be indented with tabs, which YAML forbids as indentation. Outside strings a tab is
/// only whitespace in JSON, so it becomes a space (columns stay the same).
fn untab_json(text: &str) -> Option<String> {
    let first = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .next()?;
    if (first != '{' && first != '[') || !text.contains('\t') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped) = (false, false);
    for c in text.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            out.push(c);
        } else {
            if c == '"' {
                in_str = true;
            }
            out.push(if c == '\t' { ' ' } else { c });
        }
    }
    Some(out)
}

/// Parses one input (YAML stream or JSON) named `file` in messages.
///
/// Errors: a syntax or type error ends the file (one error, with line and column); documents
/// of unknown kinds become warnings; documents without `kind`/`apiVersion`, or with a version
/// the kind is not served at, are errors and the rest of the file is still read.
pub fn parse_str(file: &str, text: &str) -> Result<ParsedFile, Vec<ManifestError>> {
    let untabbed = untab_json(text);
    let text = untabbed.as_deref().unwrap_or(text);

    // Pass 1: kinds.
    let metas: Vec<TypeMeta> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| vec![saphyr_error(file, None, &e)])?;
    let mut out = ParsedFile::default();
    let mut errors = Vec::new();
    let mut kinds = Vec::with_capacity(metas.len());
    let mut lists = Vec::new();
    for (i, m) in metas.iter().enumerate() {
        let doc = format!("document {}", i + 1);
        let meta = ItemMeta {
            api_version: m.api_version.0.clone(),
            kind: m.kind.0.clone(),
            name: m.metadata.name.clone(),
        };
        if meta.api_version.as_deref() == Some("v1") && meta.kind.as_deref() == Some("List") {
            let items = m
                .items
                .0
                .iter()
                .enumerate()
                .map(|(j, item)| {
                    let at = format!("{doc} items[{j}]");
                    classify(file, &at, item, &mut out.warnings, &mut errors)
                })
                .collect();
            lists.push(items);
            kinds.push(DocKind::List(lists.len() - 1));
        } else {
            kinds.push(classify(file, &doc, &meta, &mut out.warnings, &mut errors));
        }
    }

    // Pass 2: typed objects.
    PASS2.with(|p| {
        *p.borrow_mut() = Some(Pass2 {
            kinds,
            lists,
            next: 0,
            slots: 0,
            ignored: Vec::new(),
            error_path: None,
        })
    });
    let docs: Result<Vec<TypedDoc>, serde_saphyr::Error> =
        serde_saphyr::from_multiple_with_options(text, options());
    let state = PASS2.with(|p| p.borrow_mut().take());
    let (ignored, error_path) = match state {
        Some(s) => (s.ignored, s.error_path),
        None => (Vec::new(), None),
    };
    let docs = match docs {
        Ok(d) => d,
        Err(e) => {
            errors.push(saphyr_error(file, error_path, &e));
            return Err(errors);
        }
    };
    // Objects in slot order, to name the object of an unknown field.
    out.objects = docs.into_iter().flat_map(|d| d.0).collect();
    for (slot, path) in ignored {
        out.warnings.push(Warning {
            kind: WarningKind::UnknownField,
            file: file.to_string(),
            object: out.objects.get(slot).map(Object::object_ref),
            field: Some(path),
            message: "unknown field (ignored, as kubectl --validate=warn would)".to_string(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn classify(
    file: &str,
    at: &str,
    m: &ItemMeta,
    warnings: &mut Vec<Warning>,
    errors: &mut Vec<ManifestError>,
) -> DocKind {
    let name = m.name.clone().unwrap_or_default();
    let (api_version, kind) = match (&m.api_version, &m.kind) {
        (Some(a), Some(k)) if !a.is_empty() && !k.is_empty() => (a.as_str(), k.as_str()),
        (_, None) => {
            errors.push(ManifestError::Document {
                file: file.to_string(),
                document: at.to_string(),
                message: "Object 'Kind' is missing".to_string(),
            });
            return DocKind::Skip;
        }
        (_, Some(k)) if k.is_empty() => {
            errors.push(ManifestError::Document {
                file: file.to_string(),
                document: at.to_string(),
                message: "Object 'Kind' is missing".to_string(),
            });
            return DocKind::Skip;
        }
        _ => {
            errors.push(ManifestError::Document {
                file: file.to_string(),
                document: at.to_string(),
                message: "Object 'apiVersion' is missing".to_string(),
            });
            return DocKind::Skip;
        }
    };
    if let Some((_, _, k)) = KINDS
        .iter()
        .find(|(a, k, _)| *a == api_version && *k == kind)
    {
        return *k;
    }
    if KINDS.iter().any(|(_, k, _)| *k == kind) {
        // kubectl: no matches for kind "Deployment" in version "extensions/v1beta1"
        errors.push(ManifestError::Object {
            file: file.to_string(),
            object: ObjectRef::new(kind, &name, ""),
            message: format!("no matches for kind {kind:?} in version {api_version:?}"),
        });
        return DocKind::Skip;
    }
    warnings.push(Warning {
        kind: WarningKind::SkippedObject,
        file: file.to_string(),
        object: Some(ObjectRef::new(kind, &name, "")),
        field: None,
        message: format!("kind {kind} ({api_version}) is not supported by minipod, skipped"),
    });
    DocKind::Skip
}

#[cfg(test)]
mod tests;
