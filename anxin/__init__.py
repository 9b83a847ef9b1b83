"""anxin"""
