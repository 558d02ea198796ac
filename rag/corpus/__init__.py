"""Articles into documents: files (.txt, .md, HTML, PDF) read as text, their language, and the spans of title,
date, author and boilerplate found beside the untouched text.
"""
