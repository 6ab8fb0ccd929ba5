//! The SCIM schemas this server implements, as data. Validation, PATCH, projection and the
//! `/Schemas` discovery document are all driven by these definitions, so what is advertised
//! is exactly what is enforced.

use serde_json::{json, Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Binary,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

#[derive(Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
}

impl Attribute {
    const fn new(name: &'static str, kind: AttrType, description: &'static str) -> Self {
        Attribute {
            name,
            kind,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }
    const fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }
    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Boolean, description)
    }
    const fn reference(
        name: &'static str,
        types: &'static [&'static str],
        description: &'static str,
    ) -> Self {
        let mut a = Self::new(name, AttrType::Reference, description);
        a.reference_types = types;
        a
    }
    const fn complex(
        name: &'static str,
        subs: &'static [Attribute],
        description: &'static str,
    ) -> Self {
        let mut a = Self::new(name, AttrType::Complex, description);
        a.sub_attributes = subs;
        a
    }
    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn immutable(mut self) -> Self {
        self.mutability = Mutability::Immutable;
        self
    }
    const fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// Sub-attribute by name, case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&'static Attribute>
    where
        Self: 'static,
    {
        find(self.sub_attributes, name)
    }

    pub fn is_writable(&self) -> bool {
        matches!(
            self.mutability,
            Mutability::ReadWrite | Mutability::WriteOnly | Mutability::Immutable
        )
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(type_name(self.kind)));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if self.kind != AttrType::Complex && self.kind != AttrType::Boolean {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        m.insert(
            "mutability".into(),
            json!(match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            }),
        );
        m.insert(
            "returned".into(),
            json!(match self.returned {
                Returned::Always => "always",
                Returned::Never => "never",
                Returned::Default => "default",
                Returned::Request => "request",
            }),
        );
        if self.kind != AttrType::Complex && self.kind != AttrType::Boolean {
            m.insert(
                "uniqueness".into(),
                json!(match self.uniqueness {
                    Uniqueness::None => "none",
                    Uniqueness::Server => "server",
                }),
            );
        }
        if self.kind == AttrType::Reference {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if self.kind == AttrType::Complex {
            m.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(|a| a.to_json()).collect()),
            );
        }
        Value::Object(m)
    }
}

fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Reference => "reference",
        AttrType::Binary => "binary",
        AttrType::Complex => "complex",
    }
}

pub fn find(attributes: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

impl Schema {
    pub fn attribute(&'static self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes, name)
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(|a| a.to_json()).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            }
        })
    }
}

/// A resource type: its core schema and the extensions it accepts.
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static Schema,
    pub extensions: &'static [&'static Schema],
}

impl ResourceType {
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": format!("/{}", self.endpoint),
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter()
                .map(|s| json!({"schema": s.id, "required": false}))
                .collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            }
        })
    }
}

const TYPE_VALUE_DISPLAY_PRIMARY_DOC: &str = "A label indicating the attribute's function.";

/// The usual sub-attributes of a multi-valued attribute: value, display, type, primary.
const fn multi_valued_subs(value: Attribute, types: &'static [&'static str]) -> [Attribute; 4] {
    [
        value,
        Attribute::string(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        Attribute::string("type", TYPE_VALUE_DISPLAY_PRIMARY_DOC).canonical(types),
        Attribute::boolean(
            "primary",
            "Indicates the 'primary' or preferred attribute value for this attribute.",
        ),
    ]
}

const NAME_SUBS: &[Attribute] = &[
    Attribute::string("formatted", "The full name, formatted for display."),
    Attribute::string("familyName", "The family name of the User."),
    Attribute::string("givenName", "The given name of the User."),
    Attribute::string("middleName", "The middle name(s) of the User."),
    Attribute::string("honorificPrefix", "The honorific prefix(es) of the User."),
    Attribute::string("honorificSuffix", "The honorific suffix(es) of the User."),
];
const EMAIL_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "Email address for the user."),
    &["work", "home", "other"],
);
const PHONE_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "Phone number of the User."),
    &["work", "home", "mobile", "fax", "pager", "other"],
);
const IM_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "Instant messaging address for the User."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
const PHOTO_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::reference("value", &["external"], "URL of a photo of the User."),
    &["photo", "thumbnail"],
);
const ADDRESS_SUBS: &[Attribute] = &[
    Attribute::string(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    Attribute::string("streetAddress", "The full street address component."),
    Attribute::string("locality", "The city or locality component."),
    Attribute::string("region", "The state or region component."),
    Attribute::string("postalCode", "The zip code or postal code component."),
    Attribute::string("country", "The country name component."),
    Attribute::string("type", TYPE_VALUE_DISPLAY_PRIMARY_DOC).canonical(&["work", "home", "other"]),
    Attribute::boolean("primary", "Indicates the primary mailing address."),
];
const USER_GROUP_SUBS: &[Attribute] = &[
    Attribute::string("value", "The identifier of the User's group.").read_only(),
    Attribute::reference(
        "$ref",
        &["Group"],
        "The URI of the corresponding 'Group' resource.",
    )
    .read_only(),
    Attribute::string("display", "A human-readable name of the group.").read_only(),
    Attribute::string("type", "How the membership was derived.")
        .canonical(&["direct", "indirect"])
        .read_only(),
];
const ENTITLEMENT_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "The value of an entitlement."),
    &[],
);
const ROLE_SUBS: &[Attribute] =
    &multi_valued_subs(Attribute::string("value", "The value of a role."), &[]);
const CERTIFICATE_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::new(
        "value",
        AttrType::Binary,
        "The value of an X.509 certificate.",
    ),
    &[],
);

const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute::string(
        "userName",
        "Unique identifier for the User, used to authenticate; unique per tenant, compared case-insensitively.",
    )
    .required()
    .unique(),
    Attribute::complex("name", NAME_SUBS, "The components of the user's real name."),
    Attribute::string("displayName", "The name of the User, suitable for display to end-users."),
    Attribute::string("nickName", "The casual way to address the user."),
    Attribute::reference(
        "profileUrl",
        &["external"],
        "A fully qualified URL pointing to a page representing the User's online profile.",
    ),
    Attribute::string("title", "The user's title, such as \"Vice President\"."),
    Attribute::string("userType", "Used to identify the relationship between the organization and the user."),
    Attribute::string("preferredLanguage", "The User's preferred written or spoken language."),
    Attribute::string("locale", "The User's default location for localizing items."),
    Attribute::string("timezone", "The User's time zone in the 'Olson' time zone database format."),
    Attribute::boolean("active", "The User's administrative status; false means deprovisioned."),
    Attribute::complex("emails", EMAIL_SUBS, "Email addresses for the user.").multi(),
    Attribute::complex("phoneNumbers", PHONE_SUBS, "Phone numbers for the User.").multi(),
    Attribute::complex("ims", IM_SUBS, "Instant messaging addresses for the User.").multi(),
    Attribute::complex("photos", PHOTO_SUBS, "URLs of photos of the User.").multi(),
    Attribute::complex("addresses", ADDRESS_SUBS, "A physical mailing address for this User.").multi(),
    Attribute::complex("groups", USER_GROUP_SUBS, "A list of groups to which the user belongs.")
        .multi()
        .read_only(),
    Attribute::complex("entitlements", ENTITLEMENT_SUBS, "A list of entitlements for the User.").multi(),
    Attribute::complex("roles", ROLE_SUBS, "A list of roles for the User, as sent by the identity provider.")
        .multi(),
    Attribute::complex("x509Certificates", CERTIFICATE_SUBS, "A list of certificates issued to the User.")
        .multi(),
];

pub static USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};

const MANAGER_SUBS: &[Attribute] = &[
    Attribute::string(
        "value",
        "The id of the SCIM resource representing the User's manager.",
    ),
    Attribute::reference(
        "$ref",
        &["User"],
        "The URI of the SCIM resource representing the User's manager.",
    ),
    Attribute::string("displayName", "The displayName of the User's manager.").read_only(),
];
const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    Attribute::string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    Attribute::string("costCenter", "Identifies the name of a cost center."),
    Attribute::string("organization", "Identifies the name of an organization."),
    Attribute::string("division", "Identifies the name of a division."),
    Attribute::string("department", "Identifies the name of a department."),
    Attribute::complex("manager", MANAGER_SUBS, "The User's manager."),
];

pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRIBUTES,
};

const MEMBER_SUBS: &[Attribute] = &[
    Attribute::string("value", "Identifier of the member of this Group.").immutable(),
    Attribute::reference("$ref", &["User"], "The URI of the member resource.").immutable(),
    Attribute::string("type", "The type of the member; only users can be members.")
        .canonical(&["User"])
        .immutable(),
    Attribute::string(
        "display",
        "A human-readable name of the member, as clients send it; not stored.",
    )
    .read_only(),
];
const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute::string("displayName", "A human-readable name for the Group.").required(),
    Attribute::complex(
        "members",
        MEMBER_SUBS,
        "A list of members of the Group; only users of the same tenant.",
    )
    .multi(),
];

pub static GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRIBUTES,
};

pub static USER_RESOURCE: ResourceType = ResourceType {
    name: "User",
    endpoint: "Users",
    description: "User Account",
    schema: &USER,
    extensions: &[&ENTERPRISE_USER],
};

pub static GROUP_RESOURCE: ResourceType = ResourceType {
    name: "Group",
    endpoint: "Groups",
    description: "Group",
    schema: &GROUP,
    extensions: &[],
};

pub static ALL_SCHEMAS: [&Schema; 3] = [&USER, &ENTERPRISE_USER, &GROUP];
pub static ALL_RESOURCE_TYPES: [&ResourceType; 2] = [&USER_RESOURCE, &GROUP_RESOURCE];

/// The common attributes every resource has (RFC 7643 §3.1), described for filters and
/// projection; they are not part of any schema's attribute list.
pub static ID: Attribute = Attribute::string("id", "Unique identifier of the resource.")
    .case_exact()
    .read_only()
    .unique();
pub static EXTERNAL_ID: Attribute = Attribute::string(
    "externalId",
    "Identifier as defined by the provisioning client.",
)
.case_exact();

impl ResourceType {
    /// Whether string comparisons on `[urn:]name[.sub]` are case-exact, per the schemas.
    /// A complex attribute compared as a whole compares its `value` sub-attribute.
    pub fn case_exact(&'static self, urn: Option<&str>, name: &str, sub: Option<&str>) -> bool {
        let schema = match urn {
            None => self.schema,
            Some(u) if u.eq_ignore_ascii_case(self.schema.id) => self.schema,
            Some(u) => match self.extension(u) {
                Some(ext) => ext,
                None => return false,
            },
        };
        if urn.is_none()
            && (name.eq_ignore_ascii_case("id") || name.eq_ignore_ascii_case("externalId"))
        {
            return true;
        }
        let Some(attr) = schema.attribute(name) else {
            return false;
        };
        match (sub, attr.kind) {
            (Some(s), _) => attr.sub(s).is_some_and(|a| a.case_exact),
            (None, AttrType::Complex) => attr.sub("value").is_some_and(|a| a.case_exact),
            (None, _) => attr.case_exact,
        }
    }
}

impl super::filter::AttributeInfo for &'static ResourceType {
    fn case_exact(&self, path: &super::filter::AttrPath) -> bool {
        ResourceType::case_exact(self, path.urn.as_deref(), &path.name, path.sub.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case() {
        assert_eq!(USER.attribute("USERNAME").map(|a| a.name), Some("userName"));
        let emails = USER.attribute("emails").expect("emails");
        assert_eq!(emails.sub("VALUE").map(|a| a.name), Some("value"));
        assert!(USER_RESOURCE
            .extension(&ENTERPRISE_USER_SCHEMA.to_uppercase())
            .is_some());
    }
}
