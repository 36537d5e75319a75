"""A tiny orthographic z-buffer for the renderer: capsules, flat faces, cylinders and boxes.

Camera space: x right, y down (pixels), z away from the camera; the nearest surface wins.
Each primitive is ray-cast only inside its screen bounding box, in numpy, which keeps a
64 px hand (rendered supersampled) at a few milliseconds.
"""

from __future__ import annotations

import numpy as np


class ZBuffer:
    """Depth, surface normal and material id per pixel."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.depth = np.full((size, size), np.inf)
        self.normal = np.zeros((size, size, 3))
        self.material = np.full((size, size), -1, dtype=np.int16)
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
        self._xs, self._ys = xs, ys

    def _window(self, lo: np.ndarray, hi: np.ndarray):
        x0, y0 = np.maximum(np.floor(lo).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(hi).astype(int) + 1, self.size)
        if x0 >= x1 or y0 >= y1:
            return None
        return (slice(y0, y1), slice(x0, x1))

    def _commit(self, win, hit: np.ndarray, z: np.ndarray, n: np.ndarray, material: int) -> None:
        closer = hit & (z < self.depth[win])
        if not closer.any():
            return
        self.depth[win][closer] = z[closer]
        self.normal[win][closer] = n[closer]
        self.material[win][closer] = material

    def sphere_capsule(self, a, b, ra: float, rb: float, material: int) -> None:
        """A cone with spherical ends from a (radius ra) to b (radius rb): a finger bone."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        r = max(ra, rb)
        win = self._window(np.minimum(a[:2], b[:2]) - r, np.maximum(a[:2], b[:2]) + r)
        if win is None:
            return
        px, py = self._xs[win], self._ys[win]
        best_z = np.full(px.shape, np.inf)
        best_n = np.zeros(px.shape + (3,))
        ab = b - a
        len2 = float(ab[0] ** 2 + ab[1] ** 2)
        t = np.zeros_like(px) if len2 < 1e-9 else ((px - a[0]) * ab[0] + (py - a[1]) * ab[1]) / len2
        # middle part: nearest point on the projected axis; the two end spheres: exact.
        for tt in (np.clip(t, 0, 1), np.zeros_like(px), np.ones_like(px)):
            cx, cy, cz = a[0] + tt * ab[0], a[1] + tt * ab[1], a[2] + tt * ab[2]
            rr = ra + tt * (rb - ra)
            dx, dy = px - cx, py - cy
            h2 = rr * rr - dx * dx - dy * dy
            inside = h2 > 0
            h = np.sqrt(np.where(inside, h2, 0.0))
            z = np.where(inside, cz - h, np.inf)
            better = z < best_z
            best_z = np.where(better, z, best_z)
            n = np.stack([dx, dy, -h], -1) / np.maximum(rr, 1e-9)[..., None]
            best_n = np.where(better[..., None], n, best_n)
        self._commit(win, np.isfinite(best_z), best_z, best_n, material)

    def face(self, poly: np.ndarray, material: int) -> None:
        """A flat convex polygon (N x 3, coplanar), shaded with its camera-facing normal."""
        poly = np.asarray(poly, float)
        normal = np.cross(poly[1] - poly[0], poly[2] - poly[0])
        normal /= np.linalg.norm(normal) + 1e-12
        if abs(normal[2]) < 0.08:  # edge-on: the rim capsules draw it
            return
        if normal[2] > 0:
            normal = -normal
        win = self._window(poly[:, :2].min(0), poly[:, :2].max(0))
        if win is None:
            return
        px, py = self._xs[win], self._ys[win]
        inside = np.ones(px.shape, bool)
        pts2 = poly[:, :2]
        orient = np.sign(_signed_area(pts2))
        for i in range(len(pts2)):
            p, q = pts2[i], pts2[(i + 1) % len(pts2)]
            cross = (q[0] - p[0]) * (py - p[1]) - (q[1] - p[1]) * (px - p[0])
            inside &= cross * orient >= 0
        z = poly[0, 2] - (normal[0] * (px - poly[0, 0]) + normal[1] * (py - poly[0, 1])) / normal[2]
        n = np.broadcast_to(normal, px.shape + (3,))
        self._commit(win, inside, z, n, material)

    def cylinder(self, a, b, radius: float, material: int, cap_material: int) -> None:
        """A solid cylinder from a to b (a cup)."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        axis = b - a
        length = np.linalg.norm(axis)
        w = axis / length
        win = self._window(np.minimum(a[:2], b[:2]) - radius, np.maximum(a[:2], b[:2]) + radius)
        if win is None:
            return
        px, py = self._xs[win], self._ys[win]
        q0 = np.stack([px - a[0], py - a[1], np.full_like(px, -a[2])], -1)
        e = np.array([0.0, 0.0, 1.0])
        e_perp = e - w[2] * w
        q0w = q0 @ w
        q0_perp = q0 - q0w[..., None] * w
        qa = float(e_perp @ e_perp)
        qb = 2 * (q0_perp @ e_perp)
        qc = (q0_perp * q0_perp).sum(-1) - radius**2
        best_z = np.full(px.shape, np.inf)
        best_n = np.zeros(px.shape + (3,))
        mats = np.full(px.shape, material, dtype=np.int16)
        if qa > 1e-9:
            disc = qb * qb - 4 * qa * qc
            ok = disc >= 0
            z = (-qb - np.sqrt(np.where(ok, disc, 0))) / (2 * qa)
            s = q0w + z * w[2]
            ok &= (s >= 0) & (s <= length)
            hit = q0_perp + z[..., None] * e_perp
            n = hit / radius
            best_z = np.where(ok, z, best_z)
            best_n = np.where(ok[..., None], n, best_n)
        if abs(w[2]) > 1e-6:
            for s_cap, sign in ((0.0, -1.0), (length, 1.0)):
                z = (s_cap - q0w) / w[2]
                hit = q0_perp + z[..., None] * e_perp
                ok = ((hit * hit).sum(-1) <= radius**2) & (z < best_z)
                best_z = np.where(ok, z, best_z)
                best_n = np.where(ok[..., None], sign * w, best_n)
                mats = np.where(ok, cap_material, mats)
        finite = np.isfinite(best_z)
        closer = finite & (best_z < self.depth[win])
        self.depth[win][closer] = best_z[closer]
        self.normal[win][closer] = best_n[closer]
        self.material[win][closer] = mats[closer]

    def box(self, center, axes: np.ndarray, half: np.ndarray, materials: tuple[int, int]) -> None:
        """An oriented box (a phone); faces along axes[2] get materials[1] (the screen)."""
        center = np.asarray(center, float)
        extent = np.abs(axes.T) @ half
        win = self._window(center[:2] - extent[:2], center[:2] + extent[:2])
        if win is None:
            return
        px, py = self._xs[win], self._ys[win]
        q = np.stack([px - center[0], py - center[1], np.full_like(px, -center[2])], -1)
        near = np.full(px.shape, -np.inf)
        far = np.full(px.shape, np.inf)
        near_axis = np.zeros(px.shape, dtype=int)
        for k in range(3):
            qk, ek = q @ axes[k], axes[k][2]
            if abs(ek) < 1e-9:
                outside = np.abs(qk) > half[k]
                far = np.where(outside, -np.inf, far)
                continue
            t1, t2 = (-half[k] - qk) / ek, (half[k] - qk) / ek
            lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
            near_axis = np.where(lo > near, k, near_axis)
            near = np.maximum(near, lo)
            far = np.minimum(far, hi)
        hit = near <= far
        n = axes[near_axis]
        n = np.where((n[..., 2] > 0)[..., None], -n, n)
        z = np.where(hit, near, np.inf)
        closer = hit & (z < self.depth[win])
        self.depth[win][closer] = z[closer]
        self.normal[win][closer] = n[closer]
        self.material[win][closer] = np.where(near_axis == 2, materials[1], materials[0])[closer]


def _signed_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
