//! The examples compiled into the bundle: the only module that embeds files from `examples/`.
//!
//! Each example is a scenario (`<name>.json`, the oracle `case.json` format whose `program` is
//! `<name>.bpf.o`), the clang-built object and its C source. The objects are prebuilt and
//! committed, so the browser never compiles C.

/// One example of the picker.
#[derive(Debug, PartialEq, Eq)]
pub struct Example {
    /// Stable identifier: file stem in `examples/` and the picker's option value.
    pub name: &'static str,
    /// Human-readable title shown in the picker.
    pub title: &'static str,
    /// The scenario JSON, shown read-only and parsed with `Scenario::from_json`.
    pub scenario_json: &'static str,
    /// The program's C source, shown for reference only.
    pub source: &'static str,
    /// The clang-built BPF object (`<name>.bpf.o`).
    pub object: &'static [u8],
    /// The object's file name, as the scenario's `program` names it.
    pub object_name: &'static str,
}

macro_rules! example {
    ($name:literal, $title:literal) => {
        Example {
            name: $name,
            title: $title,
            scenario_json: include_str!(concat!("../examples/", $name, ".json")),
            source: include_str!(concat!("../examples/", $name, ".bpf.c")),
            object: include_bytes!(concat!("../examples/", $name, ".bpf.o")),
            object_name: concat!($name, ".bpf.o"),
        }
    };
}

/// Every example, in picker order; the first one is selected on load.
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
];

/// The example called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}

/// The example selected when the page loads.
pub fn default_example() -> &'static Example {
    &EXAMPLES[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for e in EXAMPLES {
            assert_eq!(find(e.name).map(|f| f.name), Some(e.name));
            assert!(!e.object.is_empty(), "{} has an empty object", e.name);
            assert!(
                !e.scenario_json.is_empty(),
                "{} has an empty scenario",
                e.name
            );
        }
        assert!(find("no_such_example").is_none());
    }

    #[test]
    fn scenarios_name_their_object() {
        for e in EXAMPLES {
            assert!(
                e.scenario_json.contains(e.object_name),
                "{}.json must name {} as its program",
                e.name,
                e.object_name
            );
        }
    }
}
