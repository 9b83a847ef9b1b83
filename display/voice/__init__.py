"""Mandarin voice calling (语音叫号): clips rendered once by espeak-ng, composed
into one WAV per call (chime, words, pauses, repeats) and played in turn."""
