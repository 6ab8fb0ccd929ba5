//! The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): a tokenizer, a
//! recursive-descent parser producing a typed AST, a printer that the parser reads back,
//! and an in-memory evaluator.

use std::fmt;

use serde_json::Value;

use super::error::{ScimError, ScimResult};

/// Filters longer than this are refused before parsing.
pub const MAX_FILTER_LENGTH: usize = 8 * 1024;
/// Parentheses, `not` and value paths may nest this deep; deeper input is refused rather
/// than risking the stack.
pub const MAX_FILTER_DEPTH: usize = 32;

/// `[urn:]name[.sub]`. Names keep the case they were written in; comparisons ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn simple(name: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub: None,
        }
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => write!(f, "null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write!(f, "{}", Value::String(s.clone())),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `attr[filter]`: some value of the multi-valued `attr` satisfies `filter`.
    ValuePath(AttrPath, Box<Filter>),
}

impl fmt::Display for Filter {
    /// Prints a filter that parses back to the same AST: operands of `and`/`or` are
    /// parenthesised whenever their precedence would otherwise change the tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {} {v}", op.as_str()),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(a, b) => {
                write_operand(f, a, matches!(**a, Filter::Or(..)))?;
                write!(f, " and ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(a, b) => {
                write_operand(f, a, false)?;
                write!(f, " or ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..)))
            }
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, filter: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

/// A PATCH `path`: `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`,
/// or a bare extension URN.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// Sub-attribute after a value filter (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Number(serde_json::Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `.sub` right after `]`, only meaningful in PATCH paths.
    DotWord(String),
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '$' | '-')
}

fn tokenize(input: &str) -> ScimResult<Vec<Token>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1
            }
            '[' => {
                tokens.push(Token::LBracket);
                i += 1
            }
            ']' => {
                tokens.push(Token::RBracket);
                i += 1;
                if i < chars.len() && chars[i] == '.' {
                    let start = i + 1;
                    let mut j = start;
                    while j < chars.len() && is_word_char(chars[j]) {
                        j += 1;
                    }
                    let word: String = chars[start..j].iter().collect();
                    if word.is_empty() {
                        return Err(ScimError::invalid_filter(
                            "expected an attribute name after ']. '",
                        ));
                    }
                    tokens.push(Token::DotWord(word));
                    i = j;
                }
            }
            '"' => {
                // A JSON string literal: find its end honouring escapes, then let serde decode it.
                let start = i;
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 2,
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    return Err(ScimError::invalid_filter("unterminated string literal"));
                }
                let literal: String = chars[start..i.min(chars.len())].iter().collect();
                let decoded: String = serde_json::from_str(&literal).map_err(|_| {
                    ScimError::invalid_filter(format!("invalid string literal {literal}"))
                })?;
                tokens.push(Token::Str(decoded));
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || matches!(chars[i], '.' | 'e' | 'E' | '+' | '-'))
                {
                    i += 1;
                }
                let literal: String = chars[start..i].iter().collect();
                let number: serde_json::Number = serde_json::from_str(&literal)
                    .map_err(|_| ScimError::invalid_filter(format!("invalid number {literal}")))?;
                tokens.push(Token::Number(number));
            }
            c if c.is_ascii_alphabetic() || c == '$' || c == '_' => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "unexpected character '{other}'"
                )))
            }
        }
    }
    Ok(tokens)
}

/// Splits `urn:...:name.sub` into its parts. The URN is everything up to the last colon.
pub fn parse_attr_path(word: &str) -> ScimResult<AttrPath> {
    // `get` rather than slicing: the word may start with a multi-byte character.
    let is_urn = word
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"))
        && word.len() > 4;
    let (urn, rest) = match word.rfind(':').filter(|_| is_urn) {
        Some(pos) => (
            word.get(..pos).map(str::to_string),
            word.get(pos + 1..).unwrap_or(""),
        ),
        None => (None, word),
    };
    let mut parts = rest.splitn(2, '.');
    let name = parts.next().unwrap_or_default();
    let sub = parts.next();
    let valid = |s: &str| {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if !valid(name) || sub.is_some_and(|s| !valid(s)) {
        return Err(ScimError::invalid_filter(format!(
            "'{word}' is not a valid attribute path"
        )));
    }
    Ok(AttrPath {
        urn,
        name: name.to_string(),
        sub: sub.map(str::to_string),
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn enter(&mut self) -> ScimResult<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(ScimError::invalid_filter(format!(
                "filter nests deeper than {MAX_FILTER_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn or_expr(&mut self, in_value_path: bool) -> ScimResult<Filter> {
        let mut left = self.and_expr(in_value_path)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr(in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, in_value_path: bool) -> ScimResult<Filter> {
        let mut left = self.unary(in_value_path)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary(in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_value_path: bool) -> ScimResult<Filter> {
        if self.peek_keyword("not") && matches!(self.tokens.get(self.pos + 1), Some(Token::LParen))
        {
            self.pos += 2;
            self.enter()?;
            let inner = self.or_expr(in_value_path)?;
            self.consume(Token::RParen, "')'")?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if matches!(self.peek(), Some(Token::LParen)) {
            self.pos += 1;
            self.enter()?;
            let inner = self.or_expr(in_value_path)?;
            self.consume(Token::RParen, "')'")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attr_expr(in_value_path)
    }

    fn consume(&mut self, token: Token, what: &str) -> ScimResult<()> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            Some(t) => Err(ScimError::invalid_filter(format!(
                "expected {what} but found {}",
                describe(&t)
            ))),
            None => Err(ScimError::invalid_filter(format!(
                "expected {what} but the filter ended"
            ))),
        }
    }

    fn attr_expr(&mut self, in_value_path: bool) -> ScimResult<Filter> {
        let path = match self.next() {
            Some(Token::Word(w)) => parse_attr_path(&w)?,
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an attribute name but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(
                    "expected an attribute name but the filter ended",
                ))
            }
        };
        if matches!(self.peek(), Some(Token::LBracket)) {
            if in_value_path {
                return Err(ScimError::invalid_filter("value paths cannot be nested"));
            }
            if path.sub.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter applies to a multi-valued attribute, not to '{path}'"
                )));
            }
            self.pos += 1;
            self.enter()?;
            let inner = self.or_expr(true)?;
            self.consume(Token::RBracket, "']'")?;
            self.depth -= 1;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path))
            }
            Some(Token::Word(w)) => CompareOp::parse(&w).ok_or_else(|| {
                ScimError::invalid_filter(format!("unknown operator '{w}' after '{path}'"))
            })?,
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an operator after '{path}' but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an operator after '{path}'"
                )))
            }
        };
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::String(s),
            Some(Token::Number(n)) => CompValue::Number(n),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            // Entra ID's documentation writes `externalId eq jyoung`: a bare word where a
            // value belongs is taken as a string (an accepted deviation from RFC 7644).
            Some(Token::Word(w)) if crate::scim::dialect::is_bare_string_value(&w) => {
                CompValue::String(w)
            }
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected a value after '{path} {}' but found {}",
                    op.as_str(),
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "expected a value after '{path} {}'",
                    op.as_str()
                )))
            }
        };
        Ok(Filter::Compare(path, op, value))
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("'{w}'"),
        Token::Str(s) => format!("the string {}", Value::String(s.clone())),
        Token::Number(n) => format!("the number {n}"),
        Token::LParen => "'('".into(),
        Token::RParen => "')'".into(),
        Token::LBracket => "'['".into(),
        Token::RBracket => "']'".into(),
        Token::DotWord(w) => format!("'.{w}'"),
    }
}

fn check_length(input: &str) -> ScimResult<()> {
    if input.len() > MAX_FILTER_LENGTH {
        return Err(ScimError::invalid_filter(format!(
            "filter is longer than {MAX_FILTER_LENGTH} bytes"
        )));
    }
    // PostgreSQL cannot store NUL and no attribute holds control characters; refusing
    // them here keeps them out of every query.
    if input.chars().any(char::is_control) {
        return Err(ScimError::invalid_filter(
            "the filter contains a control character",
        ));
    }
    Ok(())
}

/// Parses a `filter` query parameter.
pub fn parse_filter(input: &str) -> ScimResult<Filter> {
    check_length(input)?;
    let mut parser = Parser {
        tokens: tokenize(input)?,
        pos: 0,
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ScimError::invalid_filter("the filter is empty"));
    }
    let filter = parser.or_expr(false)?;
    if let Some(t) = parser.peek() {
        return Err(ScimError::invalid_filter(format!(
            "unexpected {} after a complete filter",
            describe(t)
        )));
    }
    Ok(filter)
}

/// Parses a PATCH operation's `path`.
pub fn parse_patch_path(input: &str) -> ScimResult<PatchPath> {
    let to_path_error = |e: ScimError| ScimError::invalid_path(e.detail);
    check_length(input).map_err(to_path_error)?;
    let tokens = tokenize(input).map_err(to_path_error)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let attr = match parser.next() {
        Some(Token::Word(w)) => parse_attr_path(&w).map_err(to_path_error)?,
        _ => {
            return Err(ScimError::invalid_path(format!(
                "'{input}' is not a valid path"
            )))
        }
    };
    let mut filter = None;
    let mut sub = None;
    if matches!(parser.peek(), Some(Token::LBracket)) {
        if attr.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "'{input}' is not a valid path"
            )));
        }
        parser.pos += 1;
        filter = Some(parser.or_expr(true).map_err(to_path_error)?);
        parser
            .consume(Token::RBracket, "']'")
            .map_err(to_path_error)?;
        if let Some(Token::DotWord(w)) = parser.peek().cloned() {
            parser.pos += 1;
            sub = Some(w);
        }
    }
    if parser.peek().is_some() {
        return Err(ScimError::invalid_path(format!(
            "'{input}' is not a valid path"
        )));
    }
    Ok(PatchPath { attr, filter, sub })
}

/// Looks a key up in a JSON object ignoring case, as attribute names are matched.
pub fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    get_ci_field(object.as_object()?, key)
}

/// The same, on an object's fields.
pub fn get_ci_field<'a>(
    fields: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// What the evaluator needs to know of an attribute: whether strings compare exactly.
pub trait AttributeInfo {
    fn case_exact(&self, path: &AttrPath) -> bool;
}

impl Filter {
    /// Evaluates the filter against one JSON resource (or one value of a multi-valued
    /// attribute, for value filters).
    pub fn matches(&self, resource: &Value, info: &dyn AttributeInfo) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource, info) && b.matches(resource, info),
            Filter::Or(a, b) => a.matches(resource, info) || b.matches(resource, info),
            Filter::Not(inner) => !inner.matches(resource, info),
            Filter::Present(path) => present(resource, path),
            // `eq null` asks for absence, `ne null` for presence; nothing orders null.
            Filter::Compare(path, CompareOp::Eq, CompValue::Null) => !present(resource, path),
            Filter::Compare(path, CompareOp::Ne, CompValue::Null) => present(resource, path),
            Filter::Compare(_, _, CompValue::Null) => false,
            Filter::Compare(path, op, value) => {
                let exact = info.case_exact(path);
                let found = values_at(resource, path);
                match op {
                    CompareOp::Ne => !found
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, value, exact)),
                    _ => found.iter().any(|v| compare(v, *op, value, exact)),
                }
            }
            Filter::ValuePath(path, inner) => {
                let container = container_of(resource, path);
                let Some(values) = container.and_then(|c| get_ci(c, &path.name)) else {
                    return false;
                };
                let elements: Vec<&Value> = match values {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                elements.into_iter().any(|e| inner.matches(e, info))
            }
        }
    }
}

/// The object holding the path's attribute: the resource itself for core attributes
/// (with or without their schema URN), or the extension object for extension attributes.
fn container_of<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match &path.urn {
        Some(urn)
            if urn
                .to_ascii_lowercase()
                .starts_with("urn:ietf:params:scim:schemas:core:2.0:") =>
        {
            Some(resource)
        }
        Some(urn) => get_ci(resource, urn),
        None => Some(resource),
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Whether the path reaches a non-empty value; a complex value counts as itself, not
/// through its `value` sub-attribute.
fn present(resource: &Value, path: &AttrPath) -> bool {
    let Some(container) = container_of(resource, path) else {
        return false;
    };
    let Some(top) = get_ci(container, &path.name) else {
        return false;
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    items.into_iter().any(|item| match &path.sub {
        Some(sub) => get_ci(item, sub).is_some_and(is_present),
        None => is_present(item),
    })
}

/// Every value the path reaches, flattening multi-valued attributes. A complex value with
/// no sub-attribute named compares through its `value` sub-attribute.
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(container) = container_of(resource, path) else {
        return Vec::new();
    };
    let Some(top) = get_ci(container, &path.name) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(|item| match (&path.sub, item) {
            (Some(sub), v) => get_ci(v, sub),
            (None, v @ Value::Object(_)) => get_ci(v, "value"),
            (None, v) => Some(v),
        })
        .collect()
}

fn compare(actual: &Value, op: CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    match (actual, expected) {
        (Value::Null, CompValue::Null) => op == CompareOp::Eq,
        (Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (Value::Number(a), CompValue::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => match op {
                CompareOp::Eq => a == b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                _ => false,
            },
            _ => false,
        },
        (Value::String(a), CompValue::String(b)) => {
            if let (Ok(x), Ok(y)) = (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                return ordering_matches(x.cmp(&y), op, a, b);
            }
            let (a, b) = if case_exact {
                (a.clone(), b.clone())
            } else {
                (
                    crate::casefold::fold(a).into_owned(),
                    crate::casefold::fold(b).into_owned(),
                )
            };
            ordering_matches(a.cmp(&b), op, &a, &b)
        }
        _ => false,
    }
}

fn ordering_matches(ord: std::cmp::Ordering, op: CompareOp, a: &str, b: &str) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => ord == Equal,
        CompareOp::Ne => ord != Equal,
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        CompareOp::Gt => ord == Greater,
        CompareOp::Ge => ord != Less,
        CompareOp::Lt => ord == Less,
        CompareOp::Le => ord != Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct CaseInsensitive;
    impl AttributeInfo for CaseInsensitive {
        fn case_exact(&self, _: &AttrPath) -> bool {
            false
        }
    }

    #[test]
    fn a_bare_word_value_is_a_string_but_not_a_keyword() {
        let f = parse_filter("externalId eq jyoung").expect("parses");
        assert_eq!(
            f,
            Filter::Compare(
                AttrPath::simple("externalId"),
                CompareOp::Eq,
                CompValue::String("jyoung".into())
            )
        );
        assert!(parse_filter("externalId eq true")
            .is_ok_and(|f| matches!(f, Filter::Compare(_, _, CompValue::Bool(true)))));
        assert!(parse_filter("externalId eq and").is_err());
        assert!(parse_filter("externalId eq NOT").is_err());
    }

    #[test]
    fn parses_precedence_and_value_paths() {
        let f = parse_filter(
            r#"userName Eq "bjensen" or emails[type eq "work" and value co "@example.com"] and not (active eq false)"#,
        )
        .expect("parses");
        let Filter::Or(_, right) = &f else {
            panic!("or at the top: {f:?}")
        };
        assert!(matches!(**right, Filter::And(..)));
        assert_eq!(parse_filter(&f.to_string()).expect("reparses"), f);
    }

    #[test]
    fn parses_urn_paths() {
        let f = parse_filter(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
        )
        .expect("parses");
        let Filter::Compare(path, CompareOp::Eq, _) = f else {
            panic!()
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.name, "manager");
        assert_eq!(path.sub.as_deref(), Some("value"));
    }

    #[test]
    fn rejects_bad_filters_with_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName zz \"a\"",
            "(userName eq \"a\"",
            "userName eq \"a\" junk",
            "emails[type eq \"a\"",
            "\"a\" eq userName",
            "userName eq \"unterminated",
        ] {
            let err = parse_filter(bad).expect_err(bad);
            assert_eq!(
                err.scim_type,
                Some(super::super::error::ScimType::InvalidFilter),
                "{bad}"
            );
        }
        let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_filter(&deep).is_err());
    }

    #[test]
    fn parses_patch_paths() {
        let p = parse_patch_path(r#"emails[type eq "work"].value"#).expect("parses");
        assert!(p.attr.is("emails"));
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = parse_patch_path(r#"members[value eq "2819c223"]"#).expect("parses");
        assert!(p.attr.is("members") && p.sub.is_none());
        let p = parse_patch_path("name.givenName").expect("parses");
        assert_eq!(p.attr.sub.as_deref(), Some("givenName"));
        assert!(parse_patch_path("emails[").is_err());
    }

    #[test]
    fn evaluates_against_json() {
        let user = json!({
            "userName": "BJensen",
            "active": true,
            "emails": [{"value": "b@example.com", "type": "work"}],
        });
        let eval = |f: &str| parse_filter(f).expect(f).matches(&user, &CaseInsensitive);
        assert!(eval(r#"userName eq "bjensen""#));
        assert!(eval(r#"emails[type eq "work" and value ew "example.com"]"#));
        assert!(eval(r#"emails.value sw "b@""#));
        assert!(!eval(r#"emails[type eq "home"]"#));
        assert!(eval("active eq true and not (title pr)"));
    }
}
