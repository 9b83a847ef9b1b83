"""The queue engine (排队叫号): hall configuration, tickets, window verbs,
the fairness log and the hall state boards render."""
