#!/usr/bin/env python3
"""Packs the extension into an installable .vsix without npm or vsce.

A .vsix is a zip: `[Content_Types].xml` (a content type per file extension), `extension.vsixmanifest`
(the identity VS Code installs under, from package.json) and the extension's files under `extension/`.
Usage: package_vsix.py OUTPUT.vsix
"""
import json
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
# What the installed extension needs: the manifest, its code, the page shown for it (no tests).
FILES = ["package.json", "README.md", *sorted(str(p.relative_to(HERE)) for p in (HERE / "src").glob("*.js"))]
CONTENT_TYPES = {".json": "application/json", ".js": "application/javascript", ".md": "text/markdown",
                 ".vsixmanifest": "text/xml"}
# Fixed timestamps: the same sources make the same package.
TIMESTAMP = (2020, 1, 1, 0, 0, 0)


def vsix_manifest(package: dict) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id={quoteattr(package["name"])} Version={quoteattr(package["version"])} Publisher={quoteattr(package["publisher"])}/>
    <DisplayName>{escape(package.get("displayName", package["name"]))}</DisplayName>
    <Description xml:space="preserve">{escape(package.get("description", ""))}</Description>
    <Tags></Tags>
    <Categories>{escape(",".join(package.get("categories", [])))}</Categories>
    <GalleryFlags>Public</GalleryFlags>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value={quoteattr(package["engines"]["vscode"])}/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionDependencies" Value=""/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionPack" Value=""/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionKind" Value="workspace"/>
    </Properties>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code"/>
  </Installation>
  <Dependencies/>
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true"/>
    <Asset Type="Microsoft.VisualStudio.Services.Content.Details" Path="extension/README.md" Addressable="true"/>
  </Assets>
</PackageManifest>
"""


def content_types(names) -> str:
    suffixes = sorted({Path(name).suffix for name in names} | {".vsixmanifest"})
    defaults = "".join(f'\n  <Default Extension="{s}" ContentType="{CONTENT_TYPES[s]}"/>' for s in suffixes)
    return f'<?xml version="1.0" encoding="utf-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{defaults}\n</Types>\n'


def main(output: str) -> None:
    package = json.loads((HERE / "package.json").read_text())
    entries = {"extension.vsixmanifest": vsix_manifest(package).encode(),
               "[Content_Types].xml": content_types(FILES).encode()}
    entries.update({f"extension/{name}": (HERE / name).read_bytes() for name in FILES})
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    print(output)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
