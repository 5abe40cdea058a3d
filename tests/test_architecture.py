"""No import cycles between the library's modules (a lazy import inside a function counts; an import
only for the type checker does not). The layering itself is checked by `lint-imports` in CI."""

import grimp


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("cccd_reader", exclude_type_checking_imports=True)
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.add(" -> ".join((module, *back)))
    assert not cycles, "\n".join(sorted(cycles))
