"""Collection: the collector scripts (POSIX sh, PowerShell) generated from the engine's plan, and
the session that drives a transport through the collector's stages. The engine stays pure; this
package is where facts come from."""
