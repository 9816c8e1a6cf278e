// Boost.JSON and Boost.URL compiled from source into the fuzz build (see CMakeLists.txt): the
// instrumented parsers give libFuzzer coverage feedback inside the JSON and URL grammars.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
