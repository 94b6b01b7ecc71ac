"""The browser-side files of the Solara app, installed locally so that the app works without internet access.

Solara's page loads its front end (the Vuetify application bundle, RequireJS and Font Awesome) through its own
server at ``/_solara/cdn/...``; the server answers from a cache directory (``<venv>/share/solara/cdn``) and, for a
file that is not there, fetches it from a public CDN. On a machine without internet access the page stays blank.
The files are npm packages, so set-up (``make setup``) installs them into the cache with npm:

    python -m simulation.app.assets          # install the missing packages (needs npm)
    python -m simulation.app.assets --check  # exit 1 and list them if any is missing

Which packages and versions are read from the installed Solara itself (its page template), so that an upgrade of
Solara asks for the files it needs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

_SPEC = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+[\w.+-]*)/")


def cache_directory() -> Path:
    """The directory Solara's server reads its front-end files from (``SOLARA_ASSETS_PROXY_CACHE_DIR``)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def required_packages() -> list[str]:
    """The npm packages (``name@version``) that Solara's page template loads, for this Solara and ipyvue.

    Examples
    --------
    >>> any(p.startswith("requirejs@") for p in required_packages())
    True
    """
    import ipyvue
    import solara.server
    from solara.server import settings

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    specs = set(_SPEC.findall(template.read_text(encoding="utf-8")))
    # The template names both Vuetify bundles; the page loads the one that matches ipyvue's Vue version.
    vue3 = ipyvue.__version__.startswith("3")
    unused = "@widgetti/solara-vuetify-app@" if vue3 else "@widgetti/solara-vuetify3-app@"
    specs = {s for s in specs if not s.startswith(unused)}
    if settings.assets.fontawesome_enabled:
        specs.add(settings.assets.fontawesome_path.strip("/").split("/")[0])
    return sorted(specs)


def missing_packages(directory: Path | None = None) -> list[str]:
    """The required packages that are not installed in ``directory`` (default: Solara's cache directory)."""
    directory = cache_directory() if directory is None else directory
    return [spec for spec in required_packages() if not (directory / spec / "package.json").is_file()]


def install(specs: Sequence[str], directory: Path, npm: str = "npm") -> None:
    """Download the npm packages ``specs`` with ``npm pack`` and unpack each into ``directory/<name@version>``.

    Each package is unpacked into a temporary directory beside its destination and renamed into place, so an
    interrupted install leaves no half-written package behind.

    Raises
    ------
    RuntimeError
        ``npm`` failed (the message names the package and quotes npm's last line of error output).
    """
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="npm-pack-") as tmp:
        for spec in specs:
            done = subprocess.run([npm, "pack", spec, "--json", "--pack-destination", tmp],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no error output"])[-1]
                raise RuntimeError(f"npm pack {spec} failed (exit {done.returncode}): {last}")
            filename = json.loads(done.stdout)[0]["filename"]
            dest = directory / spec
            dest.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
            try:
                with tarfile.open(Path(tmp) / Path(filename).name) as tar:
                    tar.extractall(staging, filter="data")
                # npm tarballs hold one top directory (usually ``package/``).
                (top,) = [p for p in staging.iterdir() if p.is_dir()]
                if dest.exists():
                    shutil.rmtree(dest)
                top.rename(dest)
            finally:
                shutil.rmtree(staging, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Install (or, with ``--check``, only list) the missing front-end packages; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m simulation.app.assets",
                                     description="Install the Solara app's browser-side files for offline use.")
    parser.add_argument("--check", action="store_true", help="only report missing packages (exit 1 if any)")
    parser.add_argument("--npm", default="npm", help="the npm executable (default: npm on PATH)")
    args = parser.parse_args(argv)
    directory = cache_directory()
    missing = missing_packages(directory)
    if not missing:
        print(f"app front-end files: all {len(required_packages())} packages present in {directory}")
        return 0
    if args.check:
        print(f"app front-end files missing from {directory}: {', '.join(missing)}", file=sys.stderr)
        return 1
    if shutil.which(args.npm) is None:
        print(f"note: npm not found, so the app's front-end files ({', '.join(missing)}) were not installed; "
              "`conflict-sim viz` will then need internet access to load its page", file=sys.stderr)
        return 0
    try:
        install(missing, directory, npm=args.npm)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"app front-end files: installed {', '.join(missing)} into {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
