"""The PunchOut gateway's shared library: cXML, data access, queue publishing and settings.

Every Lambda function in `functions/` imports from here; nothing here imports a function package.
"""
