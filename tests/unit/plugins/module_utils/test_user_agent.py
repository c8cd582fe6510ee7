"""The User-Agent names the collection's version, which galaxy.yml holds: a release must change both."""

from __future__ import annotations

import re
from pathlib import Path

from ansible_collections.tines.cases.plugins.module_utils._client import USER_AGENT

GALAXY_YML = Path(__file__).resolve().parents[4] / "galaxy.yml"


def test_user_agent_names_the_version_in_galaxy_yml():
    version = re.search(r"^version:\s*['\"]?([^'\"\s]+)", GALAXY_YML.read_text(), re.M).group(1)
    assert USER_AGENT == f"tines.cases-ansible/{version}"
