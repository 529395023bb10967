"""A small Gradio app: one function behind a text box.

It counts its starts in persistent storage when the Space has some (SPACE_DATA_DIR locally,
/data in a container), to show what survives a restart.
"""
import os

import gradio as gr

data = os.environ.get("SPACE_DATA_DIR") or ("/data" if os.path.isdir("/data") else None)
starts = 1
if data:
    path = os.path.join(data, "starts.txt")
    try:
        starts = int(open(path).read()) + 1
    except (OSError, ValueError):
        starts = 1
    open(path, "w").write(str(starts))


def greet(name):
    """Greets `name`, saying which Space answered and how often it has started."""
    return "Hello, %s! from %s (start number %d%s)" % (
        name or "stranger",
        os.environ.get("SPACE_ID", "?"),
        starts,
        ", counted in persistent storage" if data else "",
    )


demo = gr.Interface(
    fn=greet,
    inputs=gr.Textbox(label="Your name"),
    outputs=gr.Textbox(label="Greeting"),
    title="Hello Python",
    api_name="greet",
)

if __name__ == "__main__":
    demo.launch()
