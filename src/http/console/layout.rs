//! The console's page frame (landmarks, navigation, sign-out) and the parts many pages
//! share: the confirmation of a previewed change, pagers, hidden form fields.

use maud::{html, Markup, DOCTYPE};

use super::Change;
use crate::access::preview::DescribedChange;
use crate::access::Preview;
use crate::console::ConsoleSession;

/// The console's sections, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Users,
    Environments,
    IdpGroups,
    Applications,
    Roles,
    Connections,
    Audit,
    Events,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Users,
        Section::Environments,
        Section::IdpGroups,
        Section::Applications,
        Section::Roles,
        Section::Connections,
        Section::Audit,
        Section::Events,
    ];

    fn label(self) -> &'static str {
        match self {
            Section::Users => "Users",
            Section::Environments => "Environments and groups",
            Section::IdpGroups => "IdP groups",
            Section::Applications => "Applications",
            Section::Roles => "Roles",
            Section::Connections => "Connections",
            Section::Audit => "Audit log",
            Section::Events => "Events and webhooks",
        }
    }

    /// The admin route that lists the section's content; None: every session reads it.
    pub fn list_route(self) -> Option<&'static str> {
        match self {
            Section::Users => Some("/users"),
            Section::Environments => Some("/environments"),
            Section::IdpGroups => Some("/idp-groups"),
            Section::Applications => Some("/applications"),
            Section::Roles => Some("/roles"),
            Section::Connections => None,
            Section::Audit => Some("/audit"),
            Section::Events => Some("/events"),
        }
    }

    /// Whether the session's navigation offers the section.
    pub fn offered_to(self, session: &ConsoleSession) -> bool {
        self.list_route()
            .is_none_or(|route| session.may_read.contains(&route))
    }

    pub fn href(self) -> &'static str {
        match self {
            Section::Users => "/console/users",
            Section::Environments => "/console/environments",
            Section::IdpGroups => "/console/idp-groups",
            Section::Applications => "/console/applications",
            Section::Roles => "/console/roles",
            Section::Connections => "/console/connections",
            Section::Audit => "/console/audit",
            Section::Events => "/console/events",
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Rolegate" }
            link rel="icon" type="image/svg+xml" href=(super::assets::icon());
            link rel="stylesheet" href=(super::assets::stylesheet());
            script src=(super::assets::script()) defer {}
        }
    }
}

/// A page outside a session (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { span.brand { "Rolegate" } }
                main #main { (body) }
            }
        }
    }
}

/// A page of a signed-in session: skip link, header with who is signed in and sign-out,
/// the navigation, then the page.
pub fn page(session: &ConsoleSession, current: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Rolegate" }
                    span.who { "Signed in as " strong { (session.signed_in_as) } }
                    form method="post" action="/console/sign-out" {
                        (csrf(session))
                        button type="submit" { "Sign out" }
                    }
                }
                nav aria-label="Console" {
                    ul {
                        @for section in Section::ALL.into_iter().filter(|s| s.offered_to(session)) {
                            li {
                                @if section == current {
                                    a href=(section.href()) aria-current="page" { (section.label()) }
                                } @else {
                                    a href=(section.href()) { (section.label()) }
                                }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A value shown for copying: selectable text, and a copy button where scripts run.
pub fn copyable(id: &str, value: &str) -> Markup {
    html! {
        code.secret id=(id) { (value) }
        button type="button" data-copy=(id) hidden { "Copy" }
    }
}

/// The session's CSRF token, for every form.
pub fn csrf(session: &ConsoleSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf_token); }
}

/// A form that posts to `action` after the person's click, with the CSRF token and fields.
pub fn action_button(
    session: &ConsoleSession,
    action: &str,
    label: &str,
    fields: &[(&str, &str)],
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(session))
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" { (label) }
        }
    }
}

fn changes_table(caption: &str, changes: &[DescribedChange]) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr { th scope="col" { "User" } th scope="col" { "Environment" }
                         th scope="col" { "Application" } th scope="col" { "Role" } } }
            tbody {
                @for c in changes {
                    tr {
                        td { (c.user.name) }
                        td { (c.environment.name) }
                        td { @if let Some(app) = &c.application { (app.name) } @else { "—" } }
                        td { (c.role.name) }
                    }
                }
            }
        }
    }
}

/// The dry run of a change and the button that applies it.
pub fn confirm(
    session: &ConsoleSession,
    change: &Change,
    preview: &Preview,
    lockout: Option<&str>,
) -> Markup {
    let body = html! {
        section.preview aria-labelledby="preview-heading" {
            h2 #preview-heading { "What this change does" }
            @if super::preview_is_empty(preview) {
                p #no-change { "Nobody gains or loses a role or a privilege." }
            } @else {
                p #summary {
                    (preview.users_gaining) " user(s) gain roles, "
                    (preview.users_losing) " user(s) lose roles, "
                    (preview.users_changing_privileges) " user(s) change privileges."
                }
                @if !preview.gains.is_empty() { (changes_table("Gains", &preview.gains)) }
                @if !preview.losses.is_empty() { (changes_table("Losses", &preview.losses)) }
                @if !preview.privileges.is_empty() {
                    table {
                        caption { "Privileges" }
                        thead { tr { th scope="col" { "User" } th scope="col" { "Where" }
                                     th scope="col" { "Gained" } th scope="col" { "Lost" } } }
                        tbody {
                            @for p in &preview.privileges {
                                tr {
                                    td { (p.user.name) }
                                    td { (p.environment.name)
                                         @if let Some(app) = &p.application { " / " (app.name) } }
                                    td { (p.gained.join(", ")) }
                                    td { (p.lost.join(", ")) }
                                }
                            }
                        }
                    }
                }
                @for w in &preview.workspaces {
                    h3 { "Managed workspace " code { (w.workspace_id) } }
                    @if !w.gains.is_empty() { (changes_table("Gains", &w.gains)) }
                    @if !w.losses.is_empty() { (changes_table("Losses", &w.losses)) }
                }
            }
        }
        @if let Some(detail) = lockout {
            p.warning #self-lockout role="alert" { strong { "You lose your own admin access. " } (detail) }
        }
        form method="post" action=(change.action) {
            (csrf(session))
            @for (name, value) in &change.fields {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="confirmed" value="1";
            @if lockout.is_some() {
                p {
                    input type="checkbox" id="confirm_self_lockout" name="confirm_self_lockout" value="1" required;
                    label for="confirm_self_lockout" { "I understand that I lose my own admin access" }
                }
            }
            button type="submit" #confirm { "Confirm" }
            " "
            a href=(change.done) { "Cancel" }
        }
    };
    page(session, change.section, &change.question, body)
}

/// A link to the next page of a keyset list, keeping the other query parameters.
pub fn next_page(base: &str, params: &[(&str, &str)], after: Option<&str>) -> Markup {
    let Some(after) = after else {
        return html! {};
    };
    let mut kept: Vec<(&str, &str)> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    kept.push(("after", after));
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    html! {
        nav.pager aria-label="Pages" {
            a rel="next" href={ (base) "?" (query) } { "Next page" }
        }
    }
}
