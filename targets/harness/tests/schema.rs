//! Keeps `config.schema.json` in step with the Rust config: every example (re-serialised with
//! all defaults filled in) must fit the schema's properties, required fields and enums.

use mlc_harness::Config;
use serde_json::Value;
use std::path::Path;

fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A small structural validator for the subset of JSON Schema that the config schema uses.
fn check(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matches = options
            .iter()
            .filter(|o| check(o, value, at).is_ok())
            .count();
        return if matches == 1 {
            Ok(())
        } else {
            Err(format!("{at}: {matches} oneOf branches match {value}"))
        };
    }
    if let Some(c) = schema.get("const") {
        return if c == value {
            Ok(())
        } else {
            Err(format!("{at}: {value} != {c}"))
        };
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return if options.contains(value) {
            Ok(())
        } else {
            Err(format!("{at}: {value} not in enum"))
        };
    }
    check_type(schema, value, at)?;
    if let (Some(props), Some(obj)) = (schema.get("properties"), value.as_object()) {
        for (key, v) in obj {
            let sub = props
                .get(key)
                .ok_or_else(|| format!("{at}.{key}: not in the schema"))?;
            check(sub, v, &format!("{at}.{key}"))?;
        }
        for req in schema["required"].as_array().into_iter().flatten() {
            let key = req.as_str().unwrap();
            if !obj.contains_key(key) {
                return Err(format!("{at}.{key}: required"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            check(items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn check_type(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let Some(t) = schema.get("type") else {
        return Ok(());
    };
    let types: Vec<&str> = match t {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        other => vec![other.as_str().unwrap()],
    };
    let ok = types.iter().any(|t| match *t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    });
    if ok {
        Ok(())
    } else {
        Err(format!("{at}: {value} is not {types:?}"))
    }
}

#[test]
fn examples_with_defaults_fit_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = load(&root.join("config.schema.json"));
    let mut count = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let raw = load(&path);
            check(&schema, &raw, "config").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let full = serde_json::to_value(Config::load(&path).unwrap()).unwrap();
            check(&schema, &full, "config")
                .unwrap_or_else(|e| panic!("{} (defaults): {e}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 6);
    let bad = serde_json::json!({"schema_version": 1, "model": {"kind": "rnn"}});
    assert!(check(&schema, &bad, "config").is_err());
}
