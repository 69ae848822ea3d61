"""Package metadata comes from settings.ini (nbdev 2's single source of truth)."""
from configparser import ConfigParser
from pathlib import Path

import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read(Path(__file__).parent / 'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

for key in 'version description keywords author author_email license min_python lib_name user'.split():
    if key not in cfg:
        raise SystemExit(f'settings.ini is missing the required key {key!r}')

licenses = {'apache2': 'Apache-2.0'}
statuses = ['Planning', 'Pre-Alpha', 'Alpha', 'Beta', 'Production/Stable', 'Mature', 'Inactive']
readme = Path(__file__).parent / 'README.md'

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else '',
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    license=licenses[cfg['license']],
    keywords=cfg['keywords'].split(),
    url=cfg['git_url'],
    classifiers=[
        f'Development Status :: {cfg["status"]} - {statuses[int(cfg["status"])]}',
        f'Programming Language :: Python :: {cfg["min_python"]}',
        f'Intended Audience :: {cfg["audience"]}',
        f'Natural Language :: {cfg["language"]}',
    ],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,
    python_requires=f'>={cfg["min_python"]}',
    install_requires=cfg.get('requirements', '').split(),
    extras_require={'dev': cfg.get('dev_requirements', '').split()},
    entry_points={
        'console_scripts': cfg.get('console_scripts', '').split(),
        'nbdev': [f'{cfg["lib_name"]}={cfg["lib_name"]}._modidx:d'],
    },
    zip_safe=False,
)
