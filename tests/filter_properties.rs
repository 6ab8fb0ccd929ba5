//! Properties of the filter parser: printing and re-parsing any AST gives it back, and no
//! input makes the parser panic.

#[path = "common/filter_strategy.rs"]
mod filter_strategy;

use filter_strategy::{any_op, path, tree, ENTERPRISE};
use proptest::prelude::*;
use rolegate::scim::filter::{parse_filter, parse_patch_path, AttrPath, CompValue, Filter};

fn any_path() -> impl Strategy<Value = AttrPath> {
    prop_oneof![
        Just(path(None, "userName", None)),
        Just(path(None, "name", Some("familyName"))),
        Just(path(None, "emails", None)),
        Just(path(None, "emails", Some("value"))),
        Just(path(None, "meta", Some("lastModified"))),
        Just(path(
            Some("urn:ietf:params:scim:schemas:core:2.0:User"),
            "displayName",
            None
        )),
        Just(path(Some(ENTERPRISE), "employeeNumber", None)),
        Just(path(Some(ENTERPRISE), "manager", Some("value"))),
        "[a-zA-Z][a-zA-Z0-9_]{0,12}".prop_map(|n| path(None, &n, None)),
    ]
    .prop_filter("not a keyword", |p| {
        !["and", "or", "not", "pr", "true", "false", "null"]
            .contains(&p.name.to_ascii_lowercase().as_str())
    })
}

fn any_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        (-1.0e6f64..1.0e6).prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(CompValue::Number)),
        any::<String>().prop_map(CompValue::String),
    ]
}

fn leaf(paths: BoxedStrategy<AttrPath>) -> BoxedStrategy<Filter> {
    prop_oneof![
        paths.clone().prop_map(Filter::Present),
        (paths, any_op(), any_value()).prop_map(|(p, op, v)| Filter::Compare(p, op, v)),
    ]
    .boxed()
}

fn any_filter() -> BoxedStrategy<Filter> {
    let element = prop_oneof![
        Just("value"),
        Just("type"),
        Just("primary"),
        Just("display")
    ]
    .prop_map(|n| path(None, n, None))
    .boxed();
    let value_path = (
        prop_oneof![Just("emails"), Just("phoneNumbers"), Just("members")],
        tree(leaf(element), 2),
    )
        .prop_map(|(name, inner)| Filter::ValuePath(path(None, name, None), Box::new(inner)))
        .boxed();
    let leaves = prop_oneof![3 => leaf(any_path().boxed()), 1 => value_path].boxed();
    tree(leaves, 4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_filters_parse_back_to_the_same_ast(filter in any_filter()) {
        let printed = filter.to_string();
        prop_assert_eq!(parse_filter(&printed), Ok(filter), "{}", printed);
    }

    #[test]
    fn the_parser_never_panics(input in any::<String>()) {
        let _ = parse_filter(&input);
        let _ = parse_patch_path(&input);
    }

    #[test]
    fn the_parser_never_panics_on_filter_like_text(input in r#"[a-zA-Z0-9 ()\[\]".:\\\-_$]{0,80}"#) {
        let _ = parse_filter(&input);
        let _ = parse_patch_path(&input);
    }

    #[test]
    fn mangled_filters_fail_cleanly(filter in any_filter(), cut in 0usize..200) {
        let printed = filter.to_string();
        let cut = printed.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(printed.len());
        if let Err(e) = parse_filter(&printed[..cut]) {
            prop_assert_eq!(e.status, 400);
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for depth in [33, 1000, 100_000] {
        let f = format!("{}userName pr{}", "(".repeat(depth), ")".repeat(depth));
        assert!(parse_filter(&f).is_err());
        let f = format!("{}userName pr{}", "not (".repeat(depth), ")".repeat(depth));
        assert!(parse_filter(&f).is_err());
    }
}
