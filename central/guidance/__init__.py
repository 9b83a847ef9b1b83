"""智能导办 and 智能问答: guiding a citizen from a question to the right matter,
its exact checklist and the right queue.

- `search`: free-text (Chinese) and pinyin search over a published matter
  library, ranked with BM25 (`GuideIndex`);
- `flow`: the question-and-answer walk over a matter's situation tree and the
  checklist it ends with, as plain data and Chinese wording (no web, no
  database: the Kivy kiosk uses it as it is);
- `routing`: which service queue to take a ticket for, from the live queue
  figures, with the reason in one Chinese sentence;
- `loader`: the published library and its index, cached per library version;
- `recall`: recall@k of the search on a labelled question set;
- `web`: the public mobile pages ``/guide``.
"""
