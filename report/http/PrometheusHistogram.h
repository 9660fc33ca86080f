#pragma once
// A histogram's samples in the Prometheus text format: `name_bucket{labels,le="..."}` with
// cumulative counts up to le="+Inf", then `name_sum` and `name_count`. The family line
// ("# HELP", "# TYPE name histogram") is the caller's, once for every label set.

#include <string>

#include "base/Histogram.h"
#include "report/http/PrometheusText.h"

namespace bccsink::report {

// `labels`: "" or `key="value",...` as PrometheusText::sample takes them.
void histogramSamples(PrometheusText& text, const std::string& name, const std::string& labels,
                      const HistogramSnapshot& h);

}  // namespace bccsink::report
