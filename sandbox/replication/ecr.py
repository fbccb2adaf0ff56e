"""ECR registry replication: an image pushed to a repository in a region whose registry has a
replication rule is copied to each destination region, with the same manifest (so the same
digest), creating the repository there if needed, as ECR does. The emulator fires ``ecr_image``
for every image put."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class EcrReplicator:
    def __init__(self, client: Callable[[str, str], Any], account: str):
        self.client = client
        self.account = account
        self.copied = 0
        self.errors: list[str] = []

    def on_image(self, region: str, repository: str, tag: str | None, manifest: str, media_type: str | None = None,
                 **_: Any) -> None:
        try:
            rules = self.client("ecr", region).describe_registry().get("replicationConfiguration", {}).get("rules", [])
        except Exception as exc:
            self.errors.append(f"{region}: {exc}"[:200])
            return
        dests = {d["region"] for r in rules for d in r.get("destinations", [])
                 if d.get("registryId", self.account) == self.account and d.get("region") != region}
        for dest in sorted(dests):
            ecr = self.client("ecr", dest)
            try:
                ecr.create_repository(repositoryName=repository)
            except ecr.exceptions.RepositoryAlreadyExistsException:
                pass
            kwargs: dict[str, Any] = {"repositoryName": repository, "imageManifest": manifest}
            if tag:
                kwargs["imageTag"] = tag
            if media_type:
                kwargs["imageManifestMediaType"] = media_type
            try:
                ecr.put_image(**kwargs)
                self.copied += 1
            except ecr.exceptions.ImageAlreadyExistsException:
                pass
            except Exception as exc:
                self.errors.append(f"{dest}/{repository}: {exc}"[:200])
