//! One validator for everything the spec promises about a value: it walks the very
//! [`MetaSchema`] poem-openapi generates the document from (types, `required`, lengths, bounds,
//! patterns, enums, formats), so what the spec shows is exactly what the server enforces.
//!
//! Bodies are checked field by field and report every offending field; query and header values
//! that poem-openapi refused are re-checked against their parameter's schema to say why.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, LazyLock, RwLock},
};

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use regex::Regex;
use serde_json::Value;

/// Why a value failed, in the words `details.errors` uses.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    Required,
    Type(&'static str),
    NoNul,
    MaxLength(usize),
    MinLength(usize),
    Maximum(f64),
    Minimum(f64),
    OneOf(Vec<String>),
    Format(&'static str),
    /// The pattern failed; the schema's `title`, if any, names what was expected.
    Pattern(Option<String>),
    MaxItems(usize),
    MinItems(usize),
}

/// One offending value: where it sits (`email`, `invitations[2].role`) and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub field: String,
    pub rule: Rule,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.field)?;
        match &self.rule {
            Rule::Required => f.write_str("is required"),
            Rule::Type("object") => f.write_str("must be a JSON object"),
            Rule::Type("integer") => f.write_str("must be an integer"),
            Rule::Type("array") => f.write_str("must be an array"),
            Rule::Type(ty) => write!(f, "must be a {ty}"),
            Rule::NoNul => f.write_str("must not contain NUL characters"),
            Rule::MaxLength(n) => write!(f, "must be at most {n} characters long"),
            Rule::MinLength(n) => write!(f, "must be at least {n} characters long"),
            Rule::Maximum(n) => write!(f, "must be at most {n}"),
            Rule::Minimum(n) => write!(f, "must be at least {n}"),
            Rule::OneOf(values) => write!(f, "must be one of {}", values.join(", ")),
            Rule::Format("email") => f.write_str("must be a valid email address"),
            Rule::Format("uuid") => f.write_str("must be a UUID"),
            Rule::Format("date-time") => f.write_str("must be an RFC 3339 date-time"),
            Rule::Format(other) => write!(f, "must be a valid {other}"),
            Rule::Pattern(Some(what)) => write!(f, "must be a valid {what}"),
            Rule::Pattern(None) => f.write_str("has an invalid format"),
            Rule::MaxItems(n) => write!(f, "must have at most {n} items"),
            Rule::MinItems(n) => write!(f, "must have at least {n} items"),
        }
    }
}

/// A schema together with the registry its `$ref`s point into.
pub struct Schema<'a> {
    pub root: &'a MetaSchemaRef,
    pub registry: &'a Registry,
}

impl Schema<'_> {
    /// Every violation in `value`, one per offending field (the first rule it breaks).
    pub fn check(&self, field: &str, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        self.walk(self.root, field, value, &mut out);
        out
    }

    /// Checks a raw query or header value, read as the schema's type.
    pub fn check_raw(&self, field: &str, raw: &str) -> Vec<Violation> {
        let value = match self.resolve(self.root).map(|s| s.ty) {
            Some("integer") => match raw.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => return vec![violation(field, Rule::Type("integer"))],
            },
            _ => Value::String(raw.to_owned()),
        };
        self.check(field, &value)
    }

    fn resolve<'s>(&'s self, schema: &'s MetaSchemaRef) -> Option<&'s MetaSchema> {
        match schema {
            MetaSchemaRef::Inline(s) => Some(s),
            MetaSchemaRef::Reference(name) => self.registry.schemas.get(name),
        }
    }

    fn walk(&self, schema: &MetaSchemaRef, field: &str, value: &Value, out: &mut Vec<Violation>) {
        let Some(s) = self.resolve(schema) else {
            return;
        };
        if value.is_null() && s.nullable {
            return;
        }
        for member in &s.all_of {
            let before = out.len();
            self.walk(member, field, value, out);
            if out.len() > before {
                return;
            }
        }
        match s.ty {
            "object" => self.object(s, field, value, out),
            "array" => self.array(s, field, value, out),
            _ => {
                if let Some(rule) = scalar_rule(s, value) {
                    out.push(violation(field, rule));
                }
            }
        }
    }

    fn object(&self, s: &MetaSchema, field: &str, value: &Value, out: &mut Vec<Violation>) {
        let Value::Object(map) = value else {
            out.push(violation(field, Rule::Type("object")));
            return;
        };
        for (name, prop) in &s.properties {
            let path = join(field, name);
            match map.get(*name) {
                None if s.required.contains(name) => out.push(violation(&path, Rule::Required)),
                Some(Value::Null) if s.required.contains(name) && !self.is_nullable(prop) => {
                    out.push(violation(&path, Rule::Required));
                }
                None | Some(Value::Null) if !s.required.contains(name) => {}
                None => {}
                Some(v) => self.walk(prop, &path, v, out),
            }
        }
    }

    fn array(&self, s: &MetaSchema, field: &str, value: &Value, out: &mut Vec<Violation>) {
        let Value::Array(items) = value else {
            out.push(violation(field, Rule::Type("array")));
            return;
        };
        if let Some(max) = s.max_items.filter(|max| items.len() > *max) {
            out.push(violation(field, Rule::MaxItems(max)));
        } else if let Some(min) = s.min_items.filter(|min| items.len() < *min) {
            out.push(violation(field, Rule::MinItems(min)));
        } else if let Some(item) = &s.items {
            for (i, v) in items.iter().enumerate() {
                self.walk(item, &format!("{field}[{i}]"), v, out);
            }
        }
    }

    fn is_nullable(&self, schema: &MetaSchemaRef) -> bool {
        self.resolve(schema).is_some_and(|s| s.nullable)
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() || parent == "body" {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn violation(field: &str, rule: Rule) -> Violation {
    Violation {
        field: field.to_owned(),
        rule,
    }
}

/// The first rule a scalar value breaks, in the order a person fixes them.
fn scalar_rule(s: &MetaSchema, value: &Value) -> Option<Rule> {
    match s.ty {
        "string" => match value {
            Value::String(text) => string_rule(s, text),
            _ => Some(Rule::Type("string")),
        },
        "integer" => match value.as_i64() {
            Some(n) => number_rule(s, n as f64),
            None => Some(Rule::Type("integer")),
        },
        "number" => match value.as_f64() {
            Some(n) => number_rule(s, n),
            None => Some(Rule::Type("number")),
        },
        "boolean" if !value.is_boolean() => Some(Rule::Type("boolean")),
        _ => enum_rule(s, value),
    }
}

fn string_rule(s: &MetaSchema, text: &str) -> Option<Rule> {
    let chars = text.chars().count();
    if text.contains('\0') {
        return Some(Rule::NoNul);
    }
    if let Some(max) = s.max_length.filter(|max| chars > *max) {
        return Some(Rule::MaxLength(max));
    }
    if let Some(min) = s.min_length.filter(|min| chars < *min) {
        return Some(Rule::MinLength(min));
    }
    if let Some(rule) = enum_rule(s, &Value::String(text.to_owned())) {
        return Some(rule);
    }
    let pattern_ok = s
        .pattern
        .as_deref()
        .is_none_or(|p| compiled(p).is_some_and(|re| re.is_match(text)));
    let format_ok = match s.format {
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        Some("uuid") => crate::api::types::parse_uuid(text).is_some(),
        _ => true,
    };
    match (pattern_ok && format_ok, s.format) {
        (true, _) => None,
        (false, Some(format)) => Some(Rule::Format(format)),
        (false, None) => Some(Rule::Pattern(s.title.clone())),
    }
}

fn number_rule(s: &MetaSchema, n: f64) -> Option<Rule> {
    if let Some(max) = s.maximum.filter(|max| n > *max) {
        Some(Rule::Maximum(max))
    } else {
        s.minimum.filter(|min| n < *min).map(Rule::Minimum)
    }
}

fn enum_rule(s: &MetaSchema, value: &Value) -> Option<Rule> {
    if s.enum_items.is_empty() || s.enum_items.contains(value) {
        return None;
    }
    let names = s
        .enum_items
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    Some(Rule::OneOf(names))
}

/// Patterns come from the spec's own (constant) schemas, so each is compiled once.
fn compiled(pattern: &str) -> Option<Arc<Regex>> {
    static CACHE: LazyLock<RwLock<HashMap<String, Option<Arc<Regex>>>>> =
        LazyLock::new(RwLock::default);
    if let Some(hit) = CACHE.read().ok().and_then(|c| c.get(pattern).cloned()) {
        return hit;
    }
    let re = Regex::new(pattern).ok().map(Arc::new);
    if re.is_none() {
        tracing::error!(pattern, "a schema pattern does not compile");
    }
    if let Ok(mut cache) = CACHE.write() {
        cache.insert(pattern.to_owned(), re.clone());
    }
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(max: usize, pattern: &str) -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            max_length: Some(max),
            pattern: Some(pattern.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    #[test]
    fn each_field_reports_the_first_rule_it_breaks() {
        let registry = Registry::new();
        let root = MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: vec!["a", "b"],
            properties: vec![("a", string(3, "^x+$")), ("b", string(3, "^x+$"))],
            ..MetaSchema::new("object")
        }));
        let schema = Schema {
            root: &root,
            registry: &registry,
        };
        let lines: Vec<String> = schema
            .check("body", &serde_json::json!({ "a": "xxxxx" }))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            ["a: must be at most 3 characters long", "b: is required"]
        );
        let lines = schema.check("body", &serde_json::json!({ "a": "y", "b": "x\u{0}" }));
        assert_eq!(lines[0].rule, Rule::Pattern(None));
        assert_eq!(lines[1].rule, Rule::NoNul);
        assert!(schema.check("body", &serde_json::json!([])).len() == 1);
    }
}
