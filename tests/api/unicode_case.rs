//! Case-insensitivity for all of Unicode: uniqueness, filters and sorting agree on the one
//! case folding (`rolegate::casefold`, and `rolegate_fold` in the database), whatever the
//! database's locale.

use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use serde_json::{json, Value};

use crate::differential::encode;
use crate::helpers::{spawn_app, TestApp, USER_SCHEMA};

#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = Text)]
    folded: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn the_database_folds_every_code_point_as_the_server_does() {
    let app = spawn_app().await;
    let mut conn = app.pool.get().expect("connection");
    let table: Vec<(char, &str)> = rolegate::casefold::foldings().collect();
    let sources: Vec<String> = table.iter().map(|(c, _)| c.to_string()).collect();
    let rows: Vec<Folded> = diesel::sql_query(
        "SELECT s AS source, rolegate_fold(s) AS folded FROM unnest($1::text[]) s",
    )
    .bind::<Array<Text>, _>(&sources)
    .load(&mut conn)
    .expect("folds");
    assert_eq!(rows.len(), table.len());
    for (row, (c, expected)) in rows.iter().zip(&table) {
        assert_eq!(row.source, c.to_string());
        assert_eq!(row.folded, *expected, "U+{:04X}", *c as u32);
        assert_eq!(rolegate::casefold::fold(&row.source), *expected);
    }
    // Every other code point folds to itself in both, alone and within text.
    let unchanged: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM generate_series(1, 1114111) cp \
         WHERE (cp < 55296 OR cp > 57343) AND NOT (chr(cp) = ANY ($1::text[])) \
           AND rolegate_fold(chr(cp) || 'x') <> chr(cp) || 'x'",
    )
    .bind::<Array<Text>, _>(&sources)
    .get_result(&mut conn)
    .expect("counts");
    assert_eq!(
        unchanged.n, 0,
        "code points the database folds and the table does not"
    );
    // Whole mixed strings fold alike.
    let mixed = "Élodie STRAẞE ΣΊΣΥΦΟΣ Ирина İı ﬃ K Ǆ ᾼ 𐐀 ꭰ";
    let row: Folded = diesel::sql_query("SELECT $1 AS source, rolegate_fold($1) AS folded")
        .bind::<Text, _>(mixed)
        .get_result(&mut conn)
        .expect("folds");
    assert_eq!(row.folded, rolegate::casefold::fold(mixed));
}

fn user(name: &str, extra: Value) -> Value {
    let mut body = json!({"schemas": [USER_SCHEMA], "userName": name});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

async fn names_matching(app: &TestApp, filter: &str) -> Vec<String> {
    let reply = app
        .get(&format!("/Users?filter={}&sortBy=userName", encode(filter)))
        .await;
    assert_eq!(reply.status, 200, "{filter}: {}", reply.body);
    reply.body["Resources"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|u| u["userName"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn user_names_are_unique_ignoring_case_in_every_script() {
    let app = spawn_app().await;
    for (first, second) in [
        ("élodie", "ÉLODIE"),
        ("straße", "STRASSE"),
        ("Σίσυφος", "ΣΊΣΥΦΟΣ"),
        ("οδοσ", "ΟΔΟς"),
        ("ирина", "ИРИНА"),
        ("kelvin", "\u{212A}ELVIN"),
    ] {
        let created = app.post("/Users", &user(first, json!({}))).await;
        assert_eq!(created.status, 201, "{first}: {}", created.body);
        let clash = app.post("/Users", &user(second, json!({}))).await;
        clash.assert_error(409, Some("uniqueness"));
    }
    // The language-neutral folding keeps Turkish dotted and dotless i apart from i and I.
    for name in ["istanbul", "İstanbul", "ılık", "Ilık"] {
        let created = app.post("/Users", &user(name, json!({}))).await;
        assert_eq!(created.status, 201, "{name}: {}", created.body);
    }
}

#[tokio::test]
async fn filters_and_sorting_fold_non_ascii_text() {
    let app = spawn_app().await;
    for (name, extra) in [
        (
            "élodie",
            json!({"displayName": "Élodie Dupont", "title": "Straße",
                   "emails": [{"value": "ÉLODIE@EXAMPLE.COM", "type": "work"}]}),
        ),
        ("Ирина", json!({"displayName": "ИРИНА", "title": "ΣΊΣΥΦΟΣ"})),
        ("zoë", json!({"title": "STRASSE"})),
        ("Ångström", json!({"title": "ﬃce"})),
        ("İstanbul", json!({})),
        ("adam", json!({})),
    ] {
        let created = app.post("/Users", &user(name, extra)).await;
        assert_eq!(created.status, 201, "{name}: {}", created.body);
    }
    assert_eq!(
        names_matching(&app, r#"userName eq "ÉLODIE""#).await,
        ["élodie"]
    );
    assert_eq!(names_matching(&app, r#"userName sw "ИР""#).await, ["Ирина"]);
    assert_eq!(
        names_matching(&app, r#"userName ew "ÖM""#).await,
        ["Ångström"]
    );
    assert_eq!(names_matching(&app, r#"userName co "ZOË""#).await, ["zoë"]);
    assert_eq!(
        names_matching(&app, r#"displayName co "LODIE D""#).await,
        ["élodie"]
    );
    assert_eq!(
        names_matching(&app, r#"displayName eq "ирина""#).await,
        ["Ирина"]
    );
    // Document attributes, with and without the trigram prefilter (3+ characters).
    assert_eq!(
        names_matching(&app, r#"emails.value eq "élodie@example.com""#).await,
        ["élodie"]
    );
    assert_eq!(
        names_matching(&app, r#"emails[value sw "élodie@"]"#).await,
        ["élodie"]
    );
    // Sorted by folded userName, in code point order: "zoë" before "élodie".
    assert_eq!(
        names_matching(&app, r#"title eq "strasse""#).await,
        ["zoë", "élodie"]
    );
    assert_eq!(
        names_matching(&app, r#"title co "straß""#).await,
        ["zoë", "élodie"]
    );
    assert_eq!(
        names_matching(&app, r#"title co "ss""#).await,
        ["zoë", "élodie"]
    );
    assert_eq!(names_matching(&app, r#"title sw "σίσ""#).await, ["Ирина"]);
    assert_eq!(
        names_matching(&app, r#"title sw "FFI""#).await,
        ["Ångström"]
    );
    assert_eq!(
        names_matching(&app, r#"userName eq "istanbul""#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names_matching(&app, r#"userName eq "i̇stanbul""#).await,
        ["İstanbul"]
    );
    // Sorting orders by the folded text: the same order the server computes.
    let all = names_matching(&app, r#"userName pr"#).await;
    let mut expected = all.clone();
    expected.sort_by_key(|n| rolegate::casefold::fold(n).into_owned());
    assert_eq!(all, expected);
    assert_eq!(all.first().map(String::as_str), Some("adam"));
    assert_eq!(all.last().map(String::as_str), Some("Ирина"));
}
