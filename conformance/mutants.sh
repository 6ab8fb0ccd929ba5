#!/usr/bin/env bash
# Mutation testing of the access core with cargo-mutants: every mutant of the files below
# (the access model, the delegated-administration check, SCIM membership upkeep and the
# login's membership sync) must make one of the access tests fail.
#
# Not run by .ci/run: each mutant is an incremental build plus the test subset, about a
# minute on two cores, and there are hundreds. Run it before changing the access core, in
# parts: `conformance/mutants.sh --shard 0/8` … `--shard 7/8`, or one function with
# `conformance/mutants.sh -F all_members`. Results land in mutants.out/ (caught.txt,
# missed.txt, unviable.txt); record the figures in MUTANTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo-mutants >/dev/null 2>&1; then
    cargo install cargo-mutants --version 27.1.0 --locked
fi
# The tests that exercise these files: the model-based property test, the SCIM group and mapped-group
# examples, the access model, delegated administration, OIDC logins, dry runs, invitations,
# tokens, managed workspaces and the console pages that change access.
filter='test(effective_properties) | test(mapped_groups) | test(groups::) | test(access::) | test(authorization) | test(delegation) | test(openapi) | test(group_mappings) | test(end_user_groups) | test(oidc::) | test(check::) | test(admin::) | test(console::) | test(events::) | test(workspaces) | test(dry_run) | test(default_groups) | test(deployments) | test(invitations) | test(tokens) | test(auth::) | test(no_access_in_an_environment) | test(bulk) | test(audit) | test(effective_roles)'
exec cargo mutants \
    --file 'src/access/*.rs' \
    --file 'src/access/effective/*.rs' \
    --file src/provisioning/groups.rs \
    --file src/oidc/linking.rs \
    --file src/db/authorization.rs \
    --test-tool nextest \
    --timeout-multiplier 3 \
    -j 1 \
    "$@" \
    -- -E "$filter"
