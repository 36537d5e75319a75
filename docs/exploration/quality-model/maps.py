"""Cache the silhouette net's hand / finger / tip probability maps for the rater pictures
(extra CNN input channels). Needs the judge package on the path (PYTHONPATH=<checkout>)."""
import numpy as np


def silhouette_maps(rgbs: np.ndarray) -> np.ndarray:
    """N x 64x64x3 uint8 -> N x 3 x 64 x 64 float16 (hand, finger, tips probabilities)."""
    from judge import silhouette

    maps = silhouette.predict_batch([silhouette.to_input(x) for x in rgbs])
    return np.stack([np.stack([m.hand, m.finger, m.tips]) for m in maps]).astype(np.float16)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    from data import load

    rs = load()
    np.save("runs/quality/maps.npy", silhouette_maps(rs.images))
