"""Checks the shape of action.yml and .pre-commit-hooks.yaml (CI, .ci/installs): what GitHub and pre-commit
read from them and what cannot be run here (the action) or is easy to break by a rename (a hook's entry, the
script the action calls, an input the script reads but the action does not pass)."""

import pathlib
import re
import sys

import yaml  # PyYAML, installed with pre-commit

root = pathlib.Path(__file__).resolve().parent.parent
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


action = yaml.safe_load((root / "action.yml").read_text())
check(action.get("runs", {}).get("using") == "composite", "action.yml: runs.using must be composite")
steps = action["runs"].get("steps", [])
check(len(steps) == 1 and steps[0].get("shell") == "bash", "action.yml: one bash step")
run = steps[0].get("run", "")
m = re.search(r'"\$GITHUB_ACTION_PATH/([^"]+)"', run)
check(m is not None and (root / m.group(1)).is_file(), f"action.yml: the step runs a missing script: {run!r}")
script = (root / m.group(1)).read_text() if m else ""
inputs = action.get("inputs", {})
env = steps[0].get("env", {})
for name in inputs:
    var = "INPUT_" + name.upper().replace("-", "_")
    check(env.get(var) == "${{ inputs.%s }}" % name, f"action.yml: input {name} is not passed as {var}")
    check(var in script, f"{m.group(1) if m else 'script'}: never reads {var}")
for var in re.findall(r"\bINPUT_[A-Z_]+", script):
    check(var in env, f"the script reads {var}, which action.yml does not set")
for out, spec in action.get("outputs", {}).items():
    check(f"{out}=" in script, f"the script never writes output {out}")
    check(spec.get("value", "").startswith("${{ steps.check.outputs."), f"output {out} is not the step's")

hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
by_lang = {h["language"]: h for h in hooks}
check(set(by_lang) == {"rust", "python"}, f".pre-commit-hooks.yaml: languages {sorted(by_lang)}")
for h in hooks:
    for key in ("id", "name", "entry", "language"):
        check(key in h, f".pre-commit-hooks.yaml: hook without {key}: {h}")
cargo = (root / "Cargo.toml").read_text()
rust_bin = by_lang.get("rust", {}).get("entry", "").split()[0]
check(f'name = "{rust_bin}"' in cargo, f"the Rust hook runs {rust_bin}, which the root package does not build")
pyproject = (root / "pyproject.toml").read_text()
check('bindings = "bin"' in pyproject, "pyproject.toml: maturin must package the binary (bindings = \"bin\")")
check(by_lang.get("python", {}).get("entry", "").split()[0] == "conc-advisor", "the Python hook runs conc-advisor")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"action.yml ({len(inputs)} inputs) and .pre-commit-hooks.yaml ({len(hooks)} hooks) are consistent")
