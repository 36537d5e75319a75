"""Cache the silhouette net's coarsest encoder map (40 x 16 x 16) plus its hand/finger/tip
probabilities pooled to 16 x 16, for the picture and its mirror image: the input of `enchead`.
Needs the judge package on the path (PYTHONPATH=<checkout>)."""
import numpy as np


def encoder_maps(rgbs: np.ndarray, batch: int = 128) -> np.ndarray:
    """N x 64x64x3 uint8 -> N x 2 (as-is, mirrored) x 43 x 16 x 16 float16."""
    import torch
    import torch.nn.functional as F
    from judge import silhouette

    net = silhouette.load_net()
    x = torch.from_numpy(np.stack([silhouette.to_input(r) for r in rgbs]).astype(np.float32).transpose(0, 3, 1, 2) / 255)
    outs = []
    for s in range(0, len(x), batch):
        views = []
        for xb in (x[s:s + batch], x[s:s + batch].flip(3)):
            with torch.inference_mode():
                e1, e2, e3 = net.encode(xb)
                p = torch.sigmoid(net(xb))[:, :3]
            views.append(torch.cat([e3, F.avg_pool2d(p, 4)], 1))
        outs.append(torch.stack(views, 1).numpy().astype(np.float16))
    return np.concatenate(outs)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    from data import load

    rs = load()
    np.save("runs/quality/encmaps.npy", encoder_maps(rs.images))
