#!/usr/bin/env python3
"""Replays a scripted sequence of SCIM requests and checks every answer.

A suite is a JSON file: {"name": ..., "steps": [step, ...]}. A step has
  "name", "method", "path" (relative to the SCIM base URL), optional "body",
  optional "query" (appended as is), optional "headers", and
  "expect": {"status": int, "body": subset, "absent": [json pointers],
             "contains": {json pointer: [items that must each match some element]}},
  optional "save": {"var": "/json/pointer"} to capture values for later steps.
"{{var}}" anywhere in a step is replaced by a saved value. Only the standard library.
"""
import json
import sys
import urllib.error
import urllib.request

SCIM_TYPES = ("application/scim+json", "application/json")


def substitute(value, variables):
    if isinstance(value, str):
        for k, v in variables.items():
            value = value.replace("{{" + k + "}}", str(v))
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


def pointer(doc, path):
    for part in [p for p in path.split("/") if p]:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            raise KeyError(path)
    return doc


def subset(expected, actual, where="$"):
    """Every key and value of `expected` appears in `actual`; lists compare item by item."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        for k, v in expected.items():
            if k not in actual:
                return f"{where}.{k}: missing"
            problem = subset(v, actual[k], f"{where}.{k}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: expected {len(expected)} items, got {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            problem = subset(e, a, f"{where}[{i}]")
            if problem:
                return problem
        return None
    return None if expected == actual else f"{where}: expected {expected!r}, got {actual!r}"


def run(base, token, suite_path):
    suite = json.load(open(suite_path))
    variables = {}
    failures = 0
    for number, raw in enumerate(suite["steps"], 1):
        step = substitute(raw, variables)
        url = base + step["path"] + step.get("query", "")
        data = json.dumps(step["body"]).encode() if "body" in step else None
        request = urllib.request.Request(url, data=data, method=step["method"])
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", step.get("contentType", "application/scim+json"))
        for k, v in step.get("headers", {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, text = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as e:
            status, headers, text = e.code, e.headers, e.read().decode()
        expect = step["expect"]
        problems = []
        if status != expect["status"]:
            problems.append(f"status {status}, expected {expect['status']}")
        body = None
        if text:
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type not in SCIM_TYPES:
                problems.append(f"content type {content_type!r}")
            try:
                body = json.loads(text)
            except ValueError:
                problems.append(f"body is not JSON: {text[:200]!r}")
        elif status not in (204, 304):
            problems.append("empty body")
        if "body" in expect:
            problem = subset(expect["body"], body)
            if problem:
                problems.append(problem)
        for path, items in expect.get("contains", {}).items():
            try:
                found = pointer(body, path)
            except (KeyError, IndexError, TypeError):
                found = None
            if not isinstance(found, list):
                problems.append(f"{path}: expected a list")
                continue
            if len(found) != len(items):
                problems.append(f"{path}: expected {len(items)} items, got {len(found)}")
            for item in items:
                if not any(subset(item, candidate) is None for candidate in found):
                    problems.append(f"{path}: nothing matches {item!r}")
        for path in expect.get("absent", []):
            try:
                pointer(body, path)
                problems.append(f"{path} should be absent")
            except (KeyError, IndexError, TypeError):
                pass
        for name, path in step.get("save", {}).items():
            try:
                variables[name] = pointer(body, path)
            except (KeyError, IndexError, TypeError):
                problems.append(f"nothing at {path} to save as {name}")
        label = f"{suite['name']} #{number} {step['name']}"
        if problems:
            failures += 1
            print(f"FAIL {label}: {'; '.join(problems)}\n     body: {text[:500]}")
        else:
            print(f"ok   {label}")
    print(f"{suite['name']}: {len(suite['steps']) - failures} passed, {failures} failed")
    return failures


if __name__ == "__main__":
    sys.exit(1 if run(sys.argv[1], sys.argv[2], sys.argv[3]) else 0)
