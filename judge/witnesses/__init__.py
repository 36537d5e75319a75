"""The witnesses: what each one sees in a picture, before any judgement.

- `silhouette`: a small net trained on clean renders (hand pixels, extended fingers, tips,
  knuckles), its view and count heads, and plain geometry on its maps;
- `landmarks`: MediaPipe's hand landmark model, trained on photographs;
- `anatomy_check`: those landmarks held against the anatomy tables;
- `defect`: a learned malformation detector;
- `counter`: a small CNN that counts extended fingers as the raters did (a candidate, not shipped);
- `sharpness`: edge acutance at the hand's outline.

Each takes its network as an argument; the `Judge` loads them once and owns them.
"""
