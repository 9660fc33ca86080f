// PDF active content. Opening a PDF can run JavaScript (exploits of the reader, forms that
// phone home) or a Launch action that starts a program or opens a file. Fillable forms use
// JavaScript honestly too, so both are suspicious, not dangerous. The PDF header may follow
// up to 1 KB of junk, as readers accept.
//
// Limits: names written with #hex escapes (/J#61vaScript) and objects inside compressed
// object streams (PDF 1.5) are not seen.

rule PDF_JavaScript
{
  meta:
    verdict = "suspicious"
    description = "A PDF that contains JavaScript"
  strings:
    $pdf = "%PDF-"
    $js1 = "/JavaScript"
    $js2 = /\/JS[\s\/(<\[]/
  condition:
    $pdf in (0..1024) and any of ($js*)
}

rule PDF_Launch_Action
{
  meta:
    verdict = "suspicious"
    description = "A PDF with a Launch action: it can start a program or open a file"
  strings:
    $pdf = "%PDF-"
    $launch = /\/Launch[\s\/(<>\[]/
  condition:
    $pdf in (0..1024) and $launch
}
