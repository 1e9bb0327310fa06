"""Rendering an article, stage by stage (pipeline.py calls them in order): plan (Document → Script),
synthesize (segments into the cache), build (chapter files, the full episode, captions; a chapter's
audio in chapter_audio.py, the music in music.py), changes (what a re-render changed); follow.py
renders a site's feed entries."""
