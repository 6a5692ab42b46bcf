"""The web kit every feature builds on: the app shell, forms and validators, paging, links, exports, uploads.

It sits below every feature package and imports none of them (the contracts in ``.importlinter`` say so).
"""
