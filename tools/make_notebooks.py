"""Write the scripted demo notebooks in notebooks/ (clean: no outputs, no widget state).

Edit the cells here, then run ``python tools/make_notebooks.py``: every cell of these notebooks
stands in one reviewable place. ``05-cost-report.ipynb`` is maintained directly in Jupyter and is
not touched by this script. ``tests/test_notebooks.py`` runs them all, in place, and checks that
they leave the notebooks folder as git has it: whatever a demo writes (exports, scratch files)
goes under ``client.home`` (``KUBEEZ_HOME``, by default the git-ignored ``./kubeez-data``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent.parent / "notebooks"

CONNECT = """import os
import kubeez_nb as kz

# Your key when KUBEEZ_API_KEY is set; otherwise the built-in local emulator (no credits spent).
client = kz.connect(demo=not os.environ.get("KUBEEZ_API_KEY"))
client"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01-quickstart.ipynb": [
        (
            "md",
            "# kubeez-nb quickstart\n\nConnect, browse the live catalog, see the price first, then make one image, one video and one voice line. "
            "With no `KUBEEZ_API_KEY` this runs on the built-in emulator: nothing leaves this machine and no credits are spent.",
        ),
        ("code", CONNECT),
        (
            "md",
            "## The catalog\n\nEvery field, option and price below comes from `/docs/models.json`, never from this package.",
        ),
        (
            "code",
            """catalog = client.catalog()
images = [m for m in catalog.values() if m.model_type == "image"]
print(f"{len(catalog)} models; {len(images)} image models")
[(m.id, m.cost_per_generation) for m in images[:8]]""",
        ),
        (
            "code",
            """model = catalog["nano-banana-2"]
model.capabilities.aspect_ratio_options, model.cost_note""",
        ),
        (
            "md",
            "## Price first, then one image\n\n`estimate()` reads the cost contract from the catalog; nothing is sent.",
        ),
        (
            "code",
            """client.estimate(model="nano-banana-2", prompt="matte-black headphones on marble", aspect_ratio="1:1")""",
        ),
        (
            "code",
            """image = client.generate_media(
    model="nano-banana-2",
    prompt="matte-black headphones on marble, soft studio light",
    aspect_ratio="1:1",
)
image.wait()""",
        ),
        (
            "md",
            "## One video\n\nPer-second models are billed on the output length; the estimate shows the formula.",
        ),
        (
            "code",
            """params = dict(model="kling-3-0-std", prompt="a paper boat drifting down a rainy street", duration="5s", aspect_ratio="16:9", sound=False)
print(client.estimate(**params))
video = client.generate_media(**params)
video.wait()""",
        ),
        ("md", "## One voice line"),
        (
            "code",
            """voice = client.generate_dialogue("Welcome to Kubeez. Let me show you around.", voice="Rachel")
voice.wait()""",
        ),
        ("code", """client.balance()"""),
    ],
    "02-studio.ipynb": [
        (
            "md",
            "# The studio\n\nOne panel per job kind, built from the live catalog: pick a model and you get exactly the fields it accepts, "
            "the price before you pay, and a Generate button that never blocks the kernel.",
        ),
        ("code", CONNECT),
        ("code", """kz.studio(client)"""),
        ("md", "## One model on its own"),
        ("code", """kz.panel("kling-3-0-std", client=client)"""),
    ],
    "03-magic.ipynb": [
        (
            "md",
            "# `%kubeez`: quick prompts\n\n`%kubeez PROMPT` shows the estimate, waits with a progress bar and shows the result; `_` holds the job.",
        ),
        (
            "code",
            """%load_ext kubeez_nb
import os
if not os.environ.get("KUBEEZ_API_KEY"):
    %kubeez demo""",
        ),
        ("code", """%kubeez --dry-run --ar 16:9 a red fox in snow"""),
        ("code", """%kubeez --ar 16:9 a red fox in snow"""),
        (
            "code",
            """fox = _
fox.status, fox.cost""",
        ),
        (
            "code",
            """%kubeez -m kling-3-0-std --duration 5s --no-sound --ar 16:9 -o clip a fox running through snow at dawn""",
        ),
        ("code", '''subject = "a lighthouse in a storm"'''),
        (
            "code",
            """%%kubeez --ar 9:16
A tall travel poster of {subject}, bold flat colours, 1960s print style.""",
        ),
        ("code", """%kubeez say --voice Aria Hello from the kubeez magic."""),
        ("code", """%kubeez models video"""),
        ("code", """%kubeez balance"""),
        ("code", """%kubeez history 5"""),
    ],
    "04-batch-and-compare.ipynb": [
        (
            "md",
            "# Batch runs and model comparison\n\nA prompts × models grid: everything is estimated first, submitted within the rate limits, "
            "polled concurrently, and shown side by side. Failures are collected, not raised.",
        ),
        ("code", CONNECT),
        (
            "code",
            """prompts = ["a lighthouse at dusk", "a bowl of ramen, overhead shot"]
models = ["nano-banana-2", "flux-2-1K", "imagen-4"]
result = kz.batch(prompts=prompts, models=models, aspect_ratio="1:1", client=client)
result""",
        ),
        ("code", """result.df[["model", "prompt", "status", "estimate", "cost"]]"""),
    ],
    "06-assets-captions-separation.ipynb": [
        (
            "md",
            "# Assets, uploads, captions and separation\n\nA round trip: save a brand asset, upload a local file, use both as references, "
            "speak a line, caption it (and export SRT), then split a song into vocals and instrumental.",
        ),
        ("code", CONNECT),
        (
            "code",
            """import uuid
logo = client.generate_media(model="nano-banana-2", prompt="a minimal fox logo, flat, orange on white", aspect_ratio="1:1").wait()
asset = client.add_asset(f"fox-logo-{uuid.uuid4().hex[:6]}", logo.outputs[0].url)
asset""",
        ),
        ("code", """client.assets()"""),
        (
            "code",
            """from PIL import Image
# a local file to upload; scratch files go into the data folder (client.home), not beside the notebook
swatch = client.home / "local-swatch.png"
Image.new("RGB", (256, 256), (30, 90, 160)).save(swatch)
uploaded = client.upload(swatch)
uploaded""",
        ),
        (
            "code",
            """edit = client.generate_media(
    model="nano-banana-2",
    prompt="put the fox logo on a blue swatch",
    aspect_ratio="1:1",
    source_media_urls=[asset.url, uploaded[0]],
    generation_type="image-to-image",
)
edit.wait()""",
        ),
        ("md", "## Speech → captions → SRT"),
        (
            "code",
            """speech = client.generate_dialogue("Captions are timed to every single word.", voice="Aria").wait()
captions = client.captions(speech.outputs[0].url)
captions""",
        ),
        ("code", """print(captions.to_srt())"""),
        ("md", "## Music → separation"),
        (
            "code",
            """song = client.generate_music("V5", prompt="a calm lo-fi beat with soft vocals").wait()
song""",
        ),
        (
            "code",
            """stems = client.separate(song.outputs[0].url).wait()
stems""",
        ),
        (
            "code",
            """client.delete_asset(asset.id)
swatch.unlink()""",
        ),
    ],
}


def build() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [
            new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells
        ]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    build()
