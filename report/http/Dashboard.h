#pragma once
// The dashboard's files (templates/dashboard/: index.html, app.js, chart.js, style.css,
// favicon.svg), compiled into the binary by report/CMakeLists.txt (bccsink_embed_files)
// and served by the HTTP port (StaticFiles).

#include <string>
#include <utility>
#include <vector>

namespace bccsink::report {

// Every file as (name, text), sorted by name.
const std::vector<std::pair<std::string, std::string>>& shippedDashboard();

}  // namespace bccsink::report
