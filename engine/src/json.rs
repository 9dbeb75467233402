//! A JSON tree that borrows its strings from the input: what the fixture parser reads.
//!
//! `serde_json::Value` allocates a `String` for every key and string and an index map
//! for every object; a gigagas block has hundreds of thousands of each, which cost more
//! than executing it. Here strings without escapes point into the input bytes, objects
//! are vectors of pairs in document order, and numbers keep their literal text.
//! Semantics match `serde_json::Value` with `preserve_order`: a repeated key keeps its
//! first position and its last value.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's literal text (JSON has no limit on its size).
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// The key serde_json (feature `arbitrary_precision`) hands a number to a visitor under.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'a> Json<'a> {
    /// Parses JSON text; strings without escape sequences borrow from `text`.
    pub fn parse(text: &'a [u8]) -> Result<Json<'a>, serde_json::Error> {
        serde_json::from_slice(text)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Json<'a>)]> {
        match self {
            Json::Object(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// The same tree as a `serde_json::Value` (for printing: error messages quote
    /// values exactly as serde_json writes them).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => n.parse().map(Value::Number).unwrap_or_else(|_| Value::String(n.to_string())),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(pairs) => Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect()),
        }
    }
}

/// The value under `key` in an object's pairs.
pub fn get<'j, 'a>(pairs: &'j [(Cow<'a, str>, Json<'a>)], key: &str) -> Option<&'j Json<'a>> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

/// Builds an object from pairs in document order, as `serde_json::Map` (an index map)
/// would: a repeated key keeps its first position and takes the later value.
pub fn object<'a>(mut pairs: Vec<(Cow<'a, str>, Json<'a>)>) -> Json<'a> {
    let repeated = if pairs.len() <= 16 {
        (1..pairs.len()).any(|i| pairs[..i].iter().any(|(k, _)| *k == pairs[i].0))
    } else {
        let mut seen: alloy_primitives::map::HashSet<&str> =
            alloy_primitives::map::HashSet::with_capacity_and_hasher(pairs.len(), Default::default());
        !pairs.iter().all(|(k, _)| seen.insert(k.as_ref()))
    };
    if repeated {
        let mut merged: Vec<(Cow<'a, str>, Json<'a>)> = Vec::with_capacity(pairs.len());
        let mut index = std::collections::HashMap::new();
        for (key, value) in pairs.drain(..) {
            match index.get(&key) {
                Some(&at) => merged[at] = (key, value),
                None => {
                    index.insert(key.clone(), merged.len());
                    merged.push((key, value));
                }
            }
        }
        pairs = merged;
    }
    Json::Object(pairs)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Cow::Owned(n.to_string())))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Cow::Owned(n.to_string())))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Cow::Owned(serde_json::Number::from_f64(n).map_or_else(|| n.to_string(), |n| n.to_string()))))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<Json<'de>>()? {
            let Json::String(key) = key else {
                return Err(serde::de::Error::custom("an object key that is not a string"));
            };
            if pairs.is_empty() && key == NUMBER_TOKEN {
                // An arbitrary-precision number: its literal, as a string value.
                let Json::String(literal) = map.next_value::<Json<'de>>()? else {
                    return Err(serde::de::Error::custom("a number without its literal"));
                };
                return Ok(Json::Number(literal));
            }
            pairs.push((key, map.next_value()?));
        }
        Ok(object(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_and_numbers_keep_their_literal() {
        let text = br#"{"a": "0x01", "b": 123456789012345678901234567890, "c": [true, null, 1.5], "d": "x\ny"}"#;
        let json = Json::parse(text).unwrap();
        let pairs = json.as_object().unwrap();
        assert!(matches!(get(pairs, "a"), Some(Json::String(Cow::Borrowed("0x01")))));
        assert_eq!(get(pairs, "b"), Some(&Json::Number("123456789012345678901234567890".into())));
        assert_eq!(get(pairs, "d"), Some(&Json::String("x\ny".into())));
        assert_eq!(json.to_value(), serde_json::from_slice::<serde_json::Value>(text).unwrap());
    }

    #[test]
    fn repeated_keys_behave_as_serde_json_value() {
        for text in [r#"{"a": 1, "b": 2, "a": 3}"#.to_string(), {
            let mut many: Vec<String> = (0..40).map(|i| format!("\"k{i}\": {i}")).collect();
            many.push("\"k3\": \"late\"".into());
            format!("{{{}}}", many.join(","))
        }] {
            let ours = Json::parse(text.as_bytes()).unwrap().to_value();
            let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(ours, theirs);
            let order = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(order(&ours), order(&theirs));
        }
    }

    #[test]
    fn printed_as_serde_json_prints() {
        let text = br#"{"x": [1, "two", {"y": null}], "z": -0.5}"#;
        let theirs: serde_json::Value = serde_json::from_slice(text).unwrap();
        assert_eq!(Json::parse(text).unwrap().to_string(), theirs.to_string());
    }
}
