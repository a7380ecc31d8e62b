"""``vidgen ui``: the web app, a tab per capability, over :class:`~vidgen.ui.service.Service`.

Tabs: generate (clips from noise, by class), continue a clip (predictors), reconstruct and
interpolate (clip VAEs), evaluate (any registered metric). Each tab offers the models that
can do what it does: the shipped ones by name and the run folders under ``--runs``.

Safe by default: the server binds 127.0.0.1 (``--host`` to change it, with a warning), never
opens a public share link, sends no analytics, queues requests (at most ``--queue-size``
waiting, ``--concurrency`` model jobs at a time: one on a CPU), and refuses uploads that
are too large, too long, too big a frame, or not a video, with a message in the page.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from vidgen.errors import VidgenError
from vidgen.ui.service import Service, UISettings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry at all

TITLE = "vidgen"


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a handler; a user's mistake becomes a message in the page, anything else a short one too."""
    import functools

    import gradio as gr

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VidgenError as e:
            raise gr.Error(f"{e.message}" + (f" ({e.hint})" if e.hint else ""), print_exception=False) from None
        except Exception as e:  # never a traceback in the page
            raise gr.Error(f"something went wrong: {type(e).__name__}: {str(e)[:200]}", print_exception=True) from None

    return run


def _picker(choices: list[str], elem_id: str | None = None) -> Any:
    """A model dropdown: the choices (the first selected), or a path typed in."""
    import gradio as gr

    return gr.Dropdown(choices, value=choices[0] if choices else None, label="model", allow_custom_value=True,
                       elem_id=elem_id)


def _outputs(label: str, prefix: str | None = None) -> tuple[Any, Any, Any]:
    """The result column of a tab: the video (mp4), the still strip (png) and a line saying what was made."""
    import gradio as gr

    with gr.Column(scale=2):
        video = gr.Video(label=label, elem_id=prefix and f"{prefix}-video", autoplay=True, loop=True)
        still = gr.Image(label="frames", elem_id=prefix and f"{prefix}-still")
        info = gr.Markdown(elem_id=prefix and f"{prefix}-info")
    return video, still, info


def _progress_fn(progress: Any) -> Callable[[float, str], None]:
    return lambda fraction, text: progress(fraction, desc=text)


def build_app(service: Service) -> Any:
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    s = service.settings
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown("# vidgen\nGenerate, continue, reconstruct and score video with trained models: the shipped "
                    "ones (`vidgen models`) and your run folders.")
        with gr.Tab("Generate", id="generate"):
            generators = service.model_choices("generate")
            with gr.Row():
                with gr.Column(scale=1):
                    g_model = _picker(generators, "generate-model")
                    g_class = gr.Dropdown(service.classes(generators[0]) if generators else [], label="class",
                                          value=None, elem_id="generate-class")
                    g_seed = gr.Number(0, precision=0, label="seed (clip i uses seed + i)")
                    g_num = gr.Slider(1, min(16, s.max_clips), value=4, step=1, label="clips (per class)")
                    g_frames = gr.Number(0, precision=0, label="frames (0: the training length; models that "
                                                                "take any length)")
                    g_trunc = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="truncation (GANs; 1: none)")
                    g_steps = gr.Slider(1, 50, value=18, step=1, label="sampler steps (diffusion)")
                    g_guidance = gr.Slider(0.0, 8.0, value=1.0, step=0.25,
                                           label="guidance (class-conditional diffusion; 1: none, 0: unconditional)")
                    g_run = gr.Button("Generate", variant="primary", elem_id="generate-button")
                g_video, g_still, g_info = _outputs("clips", "generate")

            def classes(name: str) -> Any:
                choices = service.classes(name) if name else []
                return gr.update(choices=choices, value=choices[0] if choices else None)

            g_model.change(_guard(classes), g_model, g_class, api_name=False)

            @_guard
            def generate(name: str, label: str | None, seed: float, num: float, frames: float, truncation: float,
                         steps: float = 18, guidance: float = 1.0,
                         progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
                return service.generate(name, seed=int(seed or 0), num=int(num), label=label,
                                        frames=int(frames or 0) or None, truncation=truncation,
                                        sampling_steps=int(steps), guidance=float(guidance),
                                        progress=_progress_fn(progress))

            g_run.click(generate, [g_model, g_class, g_seed, g_num, g_frames, g_trunc, g_steps, g_guidance],
                        [g_video, g_still, g_info], api_name="generate")

        with gr.Tab("Continue a clip", id="continue"):
            predictors = service.model_choices("predict")
            with gr.Row():
                with gr.Column(scale=1):
                    p_model = _picker(predictors, "continue-model")
                    p_clip = gr.File(label=f"clip (a video or .npy, at most {s.max_upload_mb:g} MB, "
                                           f"{s.max_frames} frames, {s.max_resolution} px)",
                                     file_types=["video", ".npy", ".gif"], elem_id="continue-upload")
                    p_example = gr.Button("use an example clip (Moving MNIST)", size="sm")
                    p_context = gr.Number(0, precision=0, label="context frames (0: the model's)")
                    p_frames = gr.Slider(1, min(60, s.max_frames), value=10, step=1, label="frames to predict")
                    p_samples = gr.Slider(1, 4, value=1, step=1, label="futures (stochastic models differ)")
                    p_run = gr.Button("Continue", variant="primary", elem_id="continue-button")
                p_video, p_still, p_info = _outputs("input | continued", "continue")
            p_example.click(_guard(service.example_clip), None, p_clip, api_name=False)

            @_guard
            def continue_clip(name: str, clip: Any, context: float, frames: float, samples: float,
                              progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
                return service.continue_clip(name, _path(clip), context=int(context or 0) or None, frames=int(frames),
                                             samples=int(samples), progress=_progress_fn(progress))

            p_run.click(continue_clip, [p_model, p_clip, p_context, p_frames, p_samples], [p_video, p_still, p_info],
                        api_name="continue_clip")

        with gr.Tab("Reconstruct / interpolate", id="vae"):
            vaes = service.model_choices("reconstruct")
            gr.Markdown("Clip VAEs (`vae3d` runs): encode and decode a clip, or walk between two seeds' latents."
                        + ("" if vaes else " No clip VAE is shipped; train one with "
                           "`vidgen train configs/vae3d_shapes.yaml` and its run folder appears here."))
            with gr.Row():
                with gr.Column(scale=1):
                    v_model = _picker(vaes)
                    v_clip = gr.File(label="clip to reconstruct", file_types=["video", ".npy", ".gif"])
                    v_recon = gr.Button("Reconstruct", variant="primary")
                    v_a = gr.Number(0, precision=0, label="seed a")
                    v_b = gr.Number(1, precision=0, label="seed b")
                    v_steps = gr.Slider(2, 16, value=8, step=1, label="steps")
                    v_interp = gr.Button("Interpolate")
                v_video, v_still, v_info = _outputs("result")

            @_guard
            def reconstruct(name: str, clip: Any, progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
                return service.reconstruct(name, _path(clip), progress=_progress_fn(progress))

            @_guard
            def interpolate(name: str, a: float, b: float, steps: float,
                            progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
                return service.interpolate(name, seed_a=int(a or 0), seed_b=int(b or 0), steps=int(steps),
                                           progress=_progress_fn(progress))

            v_recon.click(reconstruct, [v_model, v_clip], [v_video, v_still, v_info], api_name="reconstruct")
            v_interp.click(interpolate, [v_model, v_a, v_b, v_steps], [v_video, v_still, v_info],
                           api_name="interpolate")

        with gr.Tab("Post-process", id="post"):
            from vidgen.registry import POST_OPS

            gr.Markdown("A chain of post-processing ops on an uploaded clip, in order: "
                        + ", ".join(f"`{name}`" for name in POST_OPS.names())
                        + " (`interpolate:x2` doubles the frame rate). Options as `op.key=value`.")
            with gr.Row():
                with gr.Column(scale=1):
                    x_clip = gr.File(label="clip", file_types=["video", ".npy", ".gif"], elem_id="post-upload")
                    x_example = gr.Button("use an example clip (Moving MNIST)", size="sm")
                    x_ops = gr.Textbox("denoise,sharpen", label="ops", elem_id="post-ops")
                    x_options = gr.Textbox("", label="options (e.g. sharpen.amount=1.0 denoise.strength=12)")
                    x_nets = gr.Dropdown(service.model_choices("restore") + service.model_choices("upscale"),
                                         value=[], multiselect=True,
                                         allow_custom_value=True,  # a run folder typed in
                                         label="trained networks (optional): each runs its op in place of the "
                                               "classical one (an upscaler runs upscale)", elem_id="post-networks")
                    x_run = gr.Button("Process", variant="primary", elem_id="post-button")
                x_video, x_still, x_info = _outputs("input | processed", "post")
            x_example.click(_guard(service.example_clip), None, x_clip, api_name=False)

            @_guard
            def post_process(clip: Any, ops: str, options: str, networks: list[str] | None,
                             progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
                return service.post_process(_path(clip), ops, options or "", networks=networks or [],
                                            progress=_progress_fn(progress))

            x_run.click(post_process, [x_clip, x_ops, x_options, x_nets], [x_video, x_still, x_info],
                        api_name="post_process")

        with gr.Tab("Evaluate", id="evaluate"):
            from vidgen.metrics.evaluator import shipped_evaluators
            from vidgen.registry import METRICS

            examples = [e.meta.get("example", e.form) for e in METRICS]
            scorable = sorted(set(service.model_choices("generate") + service.model_choices("predict")))
            gr.Markdown("Score a model with a metric by its protocol name (`vidgen eval --help` lists them). "
                        "Options of the test set go in the last box as `data.key=value` (e.g. `data.seed=1`).")
            with gr.Row():
                with gr.Column(scale=1):
                    e_model = _picker(scorable)
                    e_metric = gr.Dropdown(examples, value=examples[0] if examples else None, label="metric",
                                           allow_custom_value=True)
                    e_detector = gr.Dropdown(shipped_evaluators(), value=None, label="detector (shipped evaluator, "
                                             "or a path to an I3D file)", allow_custom_value=True)
                    e_num = gr.Number(256, precision=0, label="clips (frames metric)")
                    e_over = gr.Textbox("data.seed=1", label="test-set overrides")
                    e_run = gr.Button("Evaluate", variant="primary")
                with gr.Column(scale=2):
                    e_out = gr.Markdown()

            @_guard
            def evaluate(name: str, metric: str, detector: str | None, num: float, overrides: str,
                         progress: gr.Progress = gr.Progress()) -> str:
                return service.evaluate(name, metric, detector=detector or None, num=int(num or 256),
                                        overrides=overrides or "", progress=_progress_fn(progress))

            e_run.click(evaluate, [e_model, e_metric, e_detector, e_num, e_over], e_out, api_name="evaluate")
    app.queue(max_size=s.queue_size, default_concurrency_limit=s.concurrency)
    return app


def _path(upload: Any) -> str | None:
    """The local path of a gr.File value (a path string, or an object with ``.name``)."""
    if upload is None:
        return None
    if isinstance(upload, (list, tuple)):
        upload = upload[0] if upload else None
    return getattr(upload, "name", upload)


def launch(settings: UISettings, *, block: bool = True) -> Any:
    """Build and start the app on ``settings.host:settings.port``; returns the app (running)."""
    app = build_app(Service(settings))
    app.launch(server_name=settings.host, server_port=settings.port, share=False, show_error=True,
               max_file_size=int(settings.max_upload_mb * 2**20), prevent_thread_lock=not block, quiet=not block,
               allowed_paths=[str(settings.output_dir)] if settings.output_dir else None)
    return app
