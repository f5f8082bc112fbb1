//! The examples of the picker: their names and titles, and how their files are obtained.
//!
//! Each example is a scenario (`<name>.json`, the oracle `case.json` format whose `program` is
//! `<name>.bpf.o`) and its clang-built object, prebuilt and committed (the browser never
//! compiles C). In the page they are fetched on demand from `examples/` next to the app
//! (Trunk copies the folder into `dist/`), which keeps them out of the wasm bundle. With the
//! `embed-examples` feature (native tests, browser tests) they are compiled in instead and
//! [`load`] answers at once.

use std::rc::Rc;

use iterscope_emulator::scenario::Scenario;

/// One example of the picker.
#[derive(Debug, PartialEq, Eq)]
pub struct Example {
    /// Stable identifier: file stem in `examples/` and the picker's option value.
    pub name: &'static str,
    /// Human-readable title shown in the picker.
    pub title: &'static str,
    /// The object's file name, as the scenario's `program` names it.
    pub object_name: &'static str,
}

/// An example's files, once loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleFiles {
    /// The parsed scenario.
    pub scenario: Scenario,
    /// The clang-built object.
    pub object: Rc<[u8]>,
}

macro_rules! example {
    ($name:literal, $title:literal) => {
        Example {
            name: $name,
            title: $title,
            object_name: concat!($name, ".bpf.o"),
        }
    };
}

/// Every example, in picker order; the first one is selected on a first visit.
pub static EXAMPLES: &[Example] = &[
    example!("hash_dump", "Dump a hash map"),
    example!("array_sum", "Sum an array map"),
    example!("value_histogram", "Histogram into the object's own map"),
    example!("selftest_hash_map", "Selftest: struct keys and totals"),
    example!("selftest_percpu_hash_map", "Selftest: per-CPU hash values"),
    example!(
        "selftest_percpu_array_map",
        "Selftest: per-CPU array values"
    ),
    example!("lru_hash_survivors", "LRU hash: which keys survive"),
    example!("lru_percpu_hash_survivors", "LRU per-CPU hash: survivors"),
    example!("write_key_rejected", "Rejected: a store into the key"),
    example!("missing_null_check", "Rejected: no NULL check of the key"),
    example!("key_read_past_size", "Attach fails: key read past its size"),
    example!("sk_storage_sum", "Socket storage: sum values, count IPv6"),
    example!(
        "sk_storage_addrs",
        "Socket storage: print addresses (%pI4/%pI6)"
    ),
    example!(
        "sk_storage_no_null_check",
        "Rejected: socket used before its NULL check"
    ),
    example!(
        "sk_storage_oob_write",
        "Attach fails: write past the socket value"
    ),
    example!(
        "sk_storage_delete_all",
        "Socket storage: delete it all (helpers)"
    ),
];

/// The example called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}

/// The example selected on a first visit.
pub fn default_example() -> &'static Example {
    &EXAMPLES[0]
}

/// Parses an example's scenario and takes its object.
pub fn files(name: &str, scenario_json: &str, object: Vec<u8>) -> Result<ExampleFiles, String> {
    let scenario =
        Scenario::from_json(scenario_json).map_err(|e| format!("examples/{name}.json: {e}"))?;
    if object.is_empty() {
        return Err(format!("examples/{name}.bpf.o is empty"));
    }
    Ok(ExampleFiles {
        scenario,
        object: object.into(),
    })
}

/// The examples compiled in (feature `embed-examples`).
#[cfg(feature = "embed-examples")]
mod embedded {
    macro_rules! files {
        ($($name:literal),* $(,)?) => {
            /// The scenario JSON and object of an embedded example.
            pub fn get(name: &str) -> Option<(&'static str, &'static [u8])> {
                match name {
                    $($name => Some((
                        include_str!(concat!("../examples/", $name, ".json")),
                        include_bytes!(concat!("../examples/", $name, ".bpf.o")),
                    )),)*
                    _ => None,
                }
            }
        };
    }
    files!(
        "hash_dump",
        "array_sum",
        "value_histogram",
        "selftest_hash_map",
        "selftest_percpu_hash_map",
        "selftest_percpu_array_map",
        "lru_hash_survivors",
        "lru_percpu_hash_survivors",
        "write_key_rejected",
        "missing_null_check",
        "key_read_past_size",
        "sk_storage_sum",
        "sk_storage_addrs",
        "sk_storage_no_null_check",
        "sk_storage_oob_write",
        "sk_storage_delete_all",
    );
}

/// The files of an embedded example (feature `embed-examples`).
#[cfg(feature = "embed-examples")]
pub fn embedded(name: &str) -> Result<ExampleFiles, String> {
    let (json, object) = embedded::get(name).ok_or_else(|| format!("no example {name:?}"))?;
    files(name, json, object.to_vec())
}

/// Loads an example's files: compiled in with `embed-examples`, else fetched from
/// `examples/` next to the page.
pub async fn load(name: &str) -> Result<ExampleFiles, String> {
    #[cfg(feature = "embed-examples")]
    {
        embedded(name)
    }
    #[cfg(not(feature = "embed-examples"))]
    {
        let json = fetch(&format!("examples/{name}.json")).await?;
        let json = String::from_utf8(json).map_err(|e| format!("examples/{name}.json: {e}"))?;
        let object = fetch(&format!("examples/{name}.bpf.o")).await?;
        files(name, &json, object)
    }
}

/// GETs `url` (relative to the page) and returns the body.
#[cfg(not(feature = "embed-examples"))]
async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let fail = |what: String| format!("cannot load {url}: {what}");
    let window = web_sys::window().ok_or_else(|| fail("no window".into()))?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| fail(format!("{e:?}")))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| fail("not a response".into()))?;
    if !response.ok() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let buffer = response
        .array_buffer()
        .map_err(|e| fail(format!("{e:?}")))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| fail(format!("{e:?}")))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[cfg(all(test, feature = "embed-examples"))]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_embedded_and_parses() {
        for e in EXAMPLES {
            assert_eq!(find(e.name).map(|f| f.name), Some(e.name));
            let files = embedded(e.name).unwrap_or_else(|err| panic!("{}: {err}", e.name));
            assert!(!files.object.is_empty(), "{} has an empty object", e.name);
            assert_eq!(
                files.scenario.program, e.object_name,
                "{}.json names its object",
                e.name
            );
        }
        assert!(find("no_such_example").is_none());
        assert!(embedded("no_such_example").is_err());
    }
}
